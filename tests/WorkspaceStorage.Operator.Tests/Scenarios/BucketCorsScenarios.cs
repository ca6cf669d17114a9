using WorkspaceStorage.Testing.Support;
using System.Net;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
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
    public async Task Origins_are_configurable_an_edited_rule_of_ours_is_repaired_and_enabled_false_removes_only_ours()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        var reconciler = h.NewBackendReconciler();
        using var browser = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        await SetCorsAsync(h, new BucketCorsSpec { AllowedOrigins = [Origin] });

        await ReconcileAsync(h, reconciler);
        await AssertBrowserMayUseTheBucketAsync(h, browser);
        Assert.Equal(HttpStatusCode.Forbidden, (await PreflightAsync(h, browser, "PUT", "https://evil.example.com")).StatusCode);

        // Our rule (by its ID) edited on the server to another origin is drift: it is put back; nothing else is added.
        var ourId = Core.Policies.BucketCorsRule.OperatorRuleId(h.BackendName);
        await h.AdminS3.PutCORSConfigurationAsync(new Amazon.S3.Model.PutCORSConfigurationRequest
        {
            BucketName = h.Bucket,
            Configuration = new Amazon.S3.Model.CORSConfiguration
            {
                Rules = [new Amazon.S3.Model.CORSRule { Id = ourId, AllowedOrigins = ["https://evil.example.com"], AllowedMethods = ["GET"] }],
            },
        }, Ct);
        await ReconcileAsync(h, reconciler);
        Assert.Equal(HttpStatusCode.OK, (await PreflightAsync(h, browser, "PUT")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PreflightAsync(h, browser, "GET", "https://evil.example.com")).StatusCode);
        Assert.Equal([ourId], (await RulesAsync(h)).Select(r => r.Id));

        // Turned off: our rule goes, an admin's stays.
        await PutAdminRuleAsync(h, keepExisting: true);
        await SetCorsAsync(h, new BucketCorsSpec { Enabled = false });
        await ReconcileAsync(h, reconciler);
        Assert.Equal(HttpStatusCode.Forbidden, (await PreflightAsync(h, browser, "PUT")).StatusCode);
        Assert.Equal([AdminRuleId], (await RulesAsync(h)).Select(r => r.Id));
        Assert.Contains("no rule of this StorageBackend", (await h.Kube.GetAsync<StorageBackendResource>(h.BackendName))!.Status.Find(ConditionTypes.Ready)!.Message, StringComparison.Ordinal);
        Assert.Contains(await h.Kube.ObjectsAsync<Corev1Event>("default"), e => e.Reason == "BucketCorsRemoved");

        // Off and already gone: a resync reads, writes nothing.
        h.BackendCalls.Reset();
        await ReconcileAsync(h, reconciler);
        Assert.Equal(0, h.BackendCalls.Writes);
    }

    [Fact]
    public async Task An_admins_own_CORS_rule_is_kept_through_reconciles_and_the_StorageBackends_deletion()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        await h.DirectBackendAsync(); // the bucket
        await PutAdminRuleAsync(h, keepExisting: false);
        h.StartOperator();
        await h.WaitBackendAsync(h.BackendName, b => b?.Status?.IsTrue(ConditionTypes.Ready) == true, "Ready");
        var ourId = Core.Policies.BucketCorsRule.OperatorRuleId(h.BackendName);
        Assert.Equal([AdminRuleId, ourId], (await RulesAsync(h)).Select(r => r.Id));
        var admins = (await RulesAsync(h))[0];
        Assert.Equal(["https://admin.example.org"], admins.AllowedOrigins);

        // A change of origins rewrites our rule only.
        await SetCorsAsync(h, new BucketCorsSpec { AllowedOrigins = [Origin] });
        await Eventually.TrueAsync(async _ => (await RulesAsync(h)).SingleOrDefault(r => r.Id == ourId)?.AllowedOrigins.SequenceEqual([Origin]) == true, "our rule narrowed");
        Assert.Equal(["https://admin.example.org"], (await RulesAsync(h)).Single(r => r.Id == AdminRuleId).AllowedOrigins);

        // Deleted: the finalizer removes our rule and the admin's stays.
        await h.Stores.StorageBackends.DeleteAsync(new ResourceKey(null, h.BackendName), Ct);
        await h.WaitBackendAsync(h.BackendName, b => b is null, "finalized and gone");
        var left = await RulesAsync(h);
        Assert.Equal([AdminRuleId], left.Select(r => r.Id));
        Assert.Equal(["https://admin.example.org"], left[0].AllowedOrigins);
        Assert.Equal(["GET"], left[0].AllowedMethods);
    }

    [Fact]
    public async Task Two_StorageBackends_on_one_bucket_with_different_origins_keep_both_rules_and_a_resync_writes_nothing()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        await SetCorsAsync(h, new BucketCorsSpec { AllowedOrigins = ["https://a.example.org"] });
        // The same RGW and bucket, reached under another host name (an internal and an external address, say).
        var second = "rgw-b-" + Guid.NewGuid().ToString("N")[..6];
        var otherEndpoint = new UriBuilder(h.Rgw.Endpoint) { Host = "localhost" }.Uri.ToString();
        await h.Stores.StorageBackends.CreateAsync(h.NewBackend(second, otherEndpoint), Ct);
        await h.Kube.ModifyAsync<StorageBackendResource>(null, second, b => b.Spec = b.Spec with { Cors = new BucketCorsSpec { AllowedOrigins = ["https://b.example.org"] } });
        var reconciler = h.NewBackendReconciler();

        await ReconcileAsync(h, reconciler);
        await reconciler.ReconcileAsync(new ReconcileRequest<StorageBackendResource>(new ResourceKey(null, second)), Ct);
        var rules = await RulesAsync(h);
        Assert.Equal([Core.Policies.BucketCorsRule.OperatorRuleId(h.BackendName), Core.Policies.BucketCorsRule.OperatorRuleId(second)], rules.Select(r => r.Id));
        Assert.Equal(["https://a.example.org"], rules[0].AllowedOrigins);
        Assert.Equal(["https://b.example.org"], rules[1].AllowedOrigins);

        h.BackendCalls.Reset();
        for (var resync = 0; resync < 3; resync++)
        {
            await ReconcileAsync(h, reconciler);
            await reconciler.ReconcileAsync(new ReconcileRequest<StorageBackendResource>(new ResourceKey(null, second)), Ct);
        }

        Assert.Equal(6, h.BackendCalls.Calls.Count(c => c.Operation == "GetBucketCors"));
        Assert.Equal(0, h.BackendCalls.Writes);
        Assert.Equal(rules.Select(r => r.Id), (await RulesAsync(h)).Select(r => r.Id));
    }

    private const string AdminRuleId = "admin-dashboard";

    private static async Task PutAdminRuleAsync(ScenarioHarness h, bool keepExisting)
    {
        var rules = keepExisting ? (await h.AdminS3.GetCORSConfigurationAsync(h.Bucket, Ct)).Configuration?.Rules ?? [] : [];
        rules.Add(new Amazon.S3.Model.CORSRule { Id = AdminRuleId, AllowedOrigins = ["https://admin.example.org"], AllowedMethods = ["GET"] });
        await h.AdminS3.PutCORSConfigurationAsync(new Amazon.S3.Model.PutCORSConfigurationRequest
        {
            BucketName = h.Bucket,
            Configuration = new Amazon.S3.Model.CORSConfiguration { Rules = rules },
        }, Ct);
    }

    private static async Task<List<Amazon.S3.Model.CORSRule>> RulesAsync(ScenarioHarness h)
    {
        try
        {
            return (await h.AdminS3.GetCORSConfigurationAsync(h.Bucket, Ct)).Configuration?.Rules ?? [];
        }
        catch (Amazon.S3.AmazonS3Exception error) when (error.ErrorCode == "NoSuchCORSConfiguration")
        {
            return [];
        }
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
        reconciler.ReconcileAsync(new ReconcileRequest<StorageBackendResource>(new ResourceKey(null, h.BackendName)), Ct);

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
