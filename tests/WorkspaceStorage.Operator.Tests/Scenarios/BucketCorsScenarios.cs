using System.Net;
using k8s.Models;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Operator.Reconciliation;

namespace WorkspaceStorage.Operator.Tests.Scenarios;

/// <summary>
/// The StorageBackend's CORS rule on the real Ceph RGW, seen as a browser sees it: the preflight (OPTIONS with an
/// Origin) that a browser sends before a presigned PUT or an SDK call.
/// </summary>
public sealed class BucketCorsScenarios
{
    private const string Origin = "https://app.example.org";
    private static CancellationToken Ct => ScenarioHarness.Ct;

    [Fact]
    public async Task The_reconcile_sets_Hyphas_rule_repairs_it_when_deleted_and_a_resync_writes_nothing()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        var reconciler = h.NewBackendReconciler();
        using var browser = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        // RGW refuses a preflight on a bucket without CORS rules: a browser could not use the bucket.
        await h.DirectBackendAsync(); // the bucket exists, with no CORS configuration
        Assert.Equal(HttpStatusCode.Forbidden, (await PreflightAsync(h, browser, "PUT")).StatusCode);

        await ReconcileAsync(h, reconciler);
        var backend = (await h.Kube.GetAsync<StorageBackendResource>(h.BackendName))!;
        Assert.True(backend.Status.IsTrue(ConditionTypes.Ready));
        Assert.Contains("CORS allows origins *", backend.Status.Find(ConditionTypes.Ready)!.Message, StringComparison.Ordinal);
        await AssertBrowserMayUseTheBucketAsync(h, browser);
        Assert.Contains((await h.Kube.ObjectsAsync<Corev1Event>("default")), e => e.Reason == "BucketCorsSet");

        // A resync with nothing changed reads the rule and writes nothing.
        h.BackendCalls.Reset();
        await ReconcileAsync(h, reconciler);
        Assert.Contains(h.BackendCalls.Calls, c => c.Operation == "GetBucketCors");
        Assert.DoesNotContain(h.BackendCalls.Calls, c => c.Operation == "PutBucketCors");
        Assert.Equal(0, h.BackendCalls.Writes);

        // Someone deletes the rule behind the operator's back: the next reconcile puts it back.
        await h.AdminS3.DeleteCORSConfigurationAsync(h.Bucket, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, (await PreflightAsync(h, browser, "PUT")).StatusCode);
        h.BackendCalls.Reset();
        await ReconcileAsync(h, reconciler);
        Assert.Single(h.BackendCalls.Calls, c => c.Operation == "PutBucketCors");
        await AssertBrowserMayUseTheBucketAsync(h, browser);
        Assert.Contains((await h.Kube.ObjectsAsync<Corev1Event>("default")), e => e.Reason == "BucketCorsSet" && e.Count == 2); // set, then set again
    }

    [Fact]
    public async Task Origins_are_configurable_a_changed_rule_is_repaired_and_enabled_false_leaves_the_bucket_alone()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        var reconciler = h.NewBackendReconciler();
        using var browser = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        await SetCorsAsync(h, new BucketCorsSpec { AllowedOrigins = [Origin] });

        await ReconcileAsync(h, reconciler);
        await AssertBrowserMayUseTheBucketAsync(h, browser);
        Assert.Equal(HttpStatusCode.Forbidden, (await PreflightAsync(h, browser, "PUT", "https://evil.example.com")).StatusCode);

        // A rule edited on the server (another origin) is drift: it is replaced.
        await h.AdminS3.PutCORSConfigurationAsync(new Amazon.S3.Model.PutCORSConfigurationRequest
        {
            BucketName = h.Bucket,
            Configuration = new Amazon.S3.Model.CORSConfiguration
            {
                Rules = [new Amazon.S3.Model.CORSRule { AllowedOrigins = ["https://evil.example.com"], AllowedMethods = ["GET"] }],
            },
        }, Ct);
        await ReconcileAsync(h, reconciler);
        Assert.Equal(HttpStatusCode.OK, (await PreflightAsync(h, browser, "PUT")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PreflightAsync(h, browser, "GET", "https://evil.example.com")).StatusCode);

        // Turned off: the operator neither writes nor removes the bucket's CORS.
        await SetCorsAsync(h, new BucketCorsSpec { Enabled = false });
        await h.AdminS3.DeleteCORSConfigurationAsync(h.Bucket, Ct);
        h.BackendCalls.Reset();
        await ReconcileAsync(h, reconciler);
        Assert.DoesNotContain(h.BackendCalls.Calls, c => c.Operation.Contains("Cors", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, (await PreflightAsync(h, browser, "PUT")).StatusCode);
        Assert.Contains("CORS left alone", (await h.Kube.GetAsync<StorageBackendResource>(h.BackendName))!.Status.Find(ConditionTypes.Ready)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_origin_S3_cannot_match_stalls_the_backend_naming_the_field()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        await SetCorsAsync(h, new BucketCorsSpec { AllowedOrigins = ["https://app.example.org/path"] });

        await ReconcileAsync(h, h.NewBackendReconciler());

        var stalled = (await h.Kube.GetAsync<StorageBackendResource>(h.BackendName))!.Status.Find(ConditionTypes.Stalled)!;
        Assert.Equal(ConditionReasons.InvalidSpec, stalled.Reason);
        Assert.Contains("spec.cors.allowedOrigins", stalled.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(h.BackendCalls.Calls, c => c.Operation.Contains("Cors", StringComparison.Ordinal));
    }

    private static Task ReconcileAsync(ScenarioHarness h, StorageBackendReconciler reconciler) =>
        reconciler.ReconcileAsync(new ReconcileRequest<StorageBackendResource>(new ResourceKey(null, h.BackendName), null), Ct);

    private static async Task SetCorsAsync(ScenarioHarness h, BucketCorsSpec cors)
    {
        await h.Kube.ModifyAsync<StorageBackendResource>(null, h.BackendName, backend => backend.Spec = backend.Spec with { Cors = cors });
    }

    private static async Task<HttpResponseMessage> PreflightAsync(ScenarioHarness h, HttpClient browser, string method, string origin = Origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, new Uri(h.Rgw.Endpoint, $"{h.Bucket}/ws-any/upload.bin"));
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", "content-type,x-amz-date");
        return await browser.SendAsync(request, Ct);
    }

    private static async Task AssertBrowserMayUseTheBucketAsync(ScenarioHarness h, HttpClient browser)
    {
        foreach (var method in new[] { "GET", "HEAD", "PUT", "POST", "DELETE" })
        {
            using var response = await PreflightAsync(h, browser, method);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            // RGW echoes the request's origin (for "*" too), as S3 does.
            Assert.Equal(Origin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Contains(method, string.Join(',', response.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.Ordinal);
            var exposed = string.Join(',', response.Headers.GetValues("Access-Control-Expose-Headers"));
            foreach (var header in new[] { "ETag", "Content-Length", "Content-Range", "Accept-Ranges" })
            {
                Assert.Contains(header, exposed, StringComparison.OrdinalIgnoreCase);
            }

            Assert.Equal("3000", response.Headers.GetValues("Access-Control-Max-Age").Single());
        }
    }
}
