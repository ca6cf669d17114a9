using System.Net;
using System.Text.Json.Nodes;
using Amazon.S3;
using Amazon.S3.Model;
using k8s.Autorest;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.EndToEnd.Tests.Infrastructure;
using WorkspaceStorage.Testing.S3;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests;

/// <summary>
/// The operator against a real API server (K3s) and the real Ceph RGW: what a user sees after `kubectl apply`.
/// The operator runs on the host (out of cluster), so the StorageBackend's endpoint is the RGW on 127.0.0.1.
/// </summary>
public sealed class WorkspaceStorageOnK3sTests(K3sCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_WorkspaceStorage_becomes_Ready_with_a_Secret_whose_key_reaches_its_prefix_and_nothing_else()
    {
        cluster.Require();
        var rgw = RgwTestServer.Require();
        await using var scenario = await ClusterScenario.CreateAsync(cluster.Kubernetes, rgw);
        var name = "ws-ready-" + scenario.Suffix;
        await scenario.WaitBackendReadyAsync();
        await scenario.CreateWorkspaceStorageAsync(name);

        var ready = await scenario.WaitReadyAsync(name);
        Assert.Contains(ResourceMetadata.Finalizer, ready.Metadata.Finalizers ?? []);
        Assert.Equal(name, ready.Status!.Workspace);
        Assert.Equal(scenario.Bucket, ready.Status.Bucket);
        Assert.Equal(name + "/", ready.Status.Prefix);
        Assert.Equal(name + "-s3", ready.Status.SecretName);

        var secret = await scenario.GetSecretAsync(name + "-s3", Ct) ?? throw new Xunit.Sdk.XunitException($"Secret {name}-s3 not found");
        var key = ClusterScenario.Credentials(secret);
        Assert.Equal(ready.Status.AccessKeyId, key.AccessKeyId);
        Assert.Equal(rgw.Region, ClusterScenario.Value(secret, "AWS_REGION"));
        Assert.Equal(rgw.Endpoint.GetLeftPart(UriPartial.Authority), ClusterScenario.Value(secret, "AWS_ENDPOINT_URL").TrimEnd('/'));
        Assert.Equal(scenario.Bucket, ClusterScenario.Value(secret, "S3_BUCKET"));
        Assert.Equal(name + "/", ClusterScenario.Value(secret, "S3_PREFIX"));
        Assert.Contains(secret.Metadata.OwnerReferences ?? [], o => o.Kind == ApiGroup.WorkspaceStorageKind && o.Name == name && o.Uid == ready.Metadata.Uid);

        using var s3 = rgw.CreateAwsS3Client(key);
        await PutAsync(s3, scenario.Bucket, $"{name}/hello.txt");
        using (var read = await s3.GetObjectAsync(scenario.Bucket, $"{name}/hello.txt", Ct))
        {
            Assert.Equal("hello", await new StreamReader(read.ResponseStream).ReadToEndAsync(Ct));
        }

        // Outside the prefix: a sibling whose name starts the same, and the bucket root.
        await AssertForbiddenAsync(() => PutAsync(s3, scenario.Bucket, $"{name}x/escape.txt"), "a write to a sibling prefix");
        await AssertForbiddenAsync(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = scenario.Bucket }, Ct), "listing the bucket root");

        AssertNoSecretInLogs(key, rgw.Admin);

        // The operator reports through Events on the real API server, and never with a key in them.
        var events = await Eventually.WaitAsync("a Provisioned event in the namespace", ClusterScenario.Converge, async _ =>
        {
            var messages = await scenario.EventMessagesAsync();
            return (messages.Any(m => m.StartsWith("Provisioned:", StringComparison.Ordinal)), messages, $"{messages.Count} events: {string.Join(" | ", messages.Select(m => m.Split(':')[0]))}");
        }, Ct);
        Assert.All(events, e =>
        {
            Assert.DoesNotContain(key.SecretAccessKey, e, StringComparison.Ordinal);
            Assert.DoesNotContain(rgw.Admin.SecretAccessKey, e, StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData(DeletionPolicy.Retain)]
    [InlineData(DeletionPolicy.Delete)]
    public async Task Deleting_removes_the_finalizer_the_identity_and_the_Secret_and_the_data_only_with_Delete(DeletionPolicy policy)
    {
        cluster.Require();
        var rgw = RgwTestServer.Require();
        await using var scenario = await ClusterScenario.CreateAsync(cluster.Kubernetes, rgw);
        var name = $"ws-{policy.ToString().ToLowerInvariant()}-{scenario.Suffix}";
        await scenario.CreateWorkspaceStorageAsync(name, new JsonObject { ["deletionPolicy"] = policy.ToString() });
        await scenario.WaitReadyAsync(name);
        var secret = await scenario.GetSecretAsync(name + "-s3", Ct) ?? throw new Xunit.Sdk.XunitException($"Secret {name}-s3 not found");
        var key = ClusterScenario.Credentials(secret);
        using (var s3 = rgw.CreateAwsS3Client(key))
        {
            await PutAsync(s3, scenario.Bucket, $"{name}/kept-or-not.txt");
        }

        await scenario.DeleteWorkspaceStorageAsync(name);
        await scenario.WaitGoneAsync(name);
        await scenario.WaitSecretGoneAsync(name + "-s3");

        // The identity is gone: its key is refused even inside its own prefix.
        using (var s3 = rgw.CreateAwsS3Client(key))
        {
            await Eventually.WaitAsync("the deleted workspace's key to be refused", ClusterScenario.Converge, async ct =>
            {
                var status = await StatusOfGetAsync(s3, scenario.Bucket, $"{name}/kept-or-not.txt", ct);
                return (status == HttpStatusCode.Forbidden, $"GET answered {status}");
            }, Ct);
        }

        // The data follows the policy (checked with the admin key, which still reaches the bucket).
        using var admin = rgw.CreateAwsS3Client(rgw.Admin);
        var listed = await admin.ListObjectsV2Async(new ListObjectsV2Request { BucketName = scenario.Bucket, Prefix = name + "/" }, Ct);
        var keys = (listed.S3Objects ?? []).Select(o => o.Key).ToList();
        if (policy == DeletionPolicy.Retain)
        {
            Assert.Equal([$"{name}/kept-or-not.txt"], keys);
        }
        else
        {
            Assert.Empty(keys);
        }

        AssertNoSecretInLogs(key, rgw.Admin);
    }

    [Fact]
    public async Task Rotating_on_request_writes_a_new_key_and_refuses_the_old_one_after_the_grace_period()
    {
        cluster.Require();
        var rgw = RgwTestServer.Require();
        await using var scenario = await ClusterScenario.CreateAsync(cluster.Kubernetes, rgw);
        var name = "ws-rotate-" + scenario.Suffix;
        var grace = TimeSpan.FromSeconds(10);
        await scenario.CreateWorkspaceStorageAsync(name, new JsonObject { ["credentials"] = new JsonObject { ["rotationGracePeriod"] = "10s" } });
        var before = await scenario.WaitReadyAsync(name);
        var secretName = before.Status!.SecretName!;
        var oldKey = ClusterScenario.Credentials((await scenario.GetSecretAsync(secretName, Ct))!);
        using (var s3 = rgw.CreateAwsS3Client(oldKey))
        {
            await PutAsync(s3, scenario.Bucket, $"{name}/before-rotation.txt");
        }

        // kubectl annotate wss/<name> workspacestorage.hypha.amun.ai/rotate=<value> --overwrite
        var request = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var requestedAt = DateTime.UtcNow;
        await scenario.PatchWorkspaceStorageAsync(name, new JsonObject
        {
            ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [ResourceMetadata.RotateAnnotation] = request } },
        }.ToJsonString());

        var rotated = await scenario.WaitReadyAsync(name, r => r.Status?.LastRotationRequest == request && r.Status.AccessKeyId != oldKey.AccessKeyId,
            $"status.lastRotationRequest={request} with a new accessKeyId");
        Assert.NotNull(rotated.Status!.CredentialsRotatedAt);
        Assert.True(rotated.Status.CredentialsRotatedAt!.Value.ToUniversalTime() >= requestedAt.AddSeconds(-5),
            $"credentialsRotatedAt {rotated.Status.CredentialsRotatedAt:O} should be after the request at {requestedAt:O}");

        var newKey = await Eventually.WaitAsync("the Secret to hold the new key", ClusterScenario.Converge, async ct =>
        {
            var secret = await scenario.GetSecretAsync(secretName, ct);
            var key = secret is null ? null : ClusterScenario.Credentials(secret);
            return (key?.AccessKeyId == rotated.Status.AccessKeyId, key!, $"Secret key id {key?.AccessKeyId ?? "(no Secret)"}");
        }, Ct);
        Assert.NotEqual(oldKey.SecretAccessKey, newKey.SecretAccessKey);
        using (var s3 = rgw.CreateAwsS3Client(newKey))
        {
            using var read = await s3.GetObjectAsync(scenario.Bucket, $"{name}/before-rotation.txt", Ct);
            Assert.Equal(HttpStatusCode.OK, read.HttpStatusCode);
            await PutAsync(s3, scenario.Bucket, $"{name}/after-rotation.txt");
        }

        // The old key keeps working during the grace period (pods pick up the new Secret), then it is refused.
        var rotatedAt = rotated.Status.CredentialsRotatedAt.Value.ToUniversalTime();
        using (var s3 = rgw.CreateAwsS3Client(oldKey))
        {
            if (DateTime.UtcNow < rotatedAt + grace - TimeSpan.FromSeconds(3))
            {
                Assert.Equal(HttpStatusCode.OK, await StatusOfGetAsync(s3, scenario.Bucket, $"{name}/before-rotation.txt", Ct));
            }

            var refusedAt = await Eventually.WaitAsync($"the old key to be refused after the {grace.TotalSeconds:0}s grace period", ClusterScenario.Converge, async ct =>
            {
                var status = await StatusOfGetAsync(s3, scenario.Bucket, $"{name}/before-rotation.txt", ct);
                return (status == HttpStatusCode.Forbidden, DateTime.UtcNow, $"GET with the old key answered {status}");
            }, Ct);

            // Same clock: the operator runs in this process. One second of slack for the status's whole seconds.
            Assert.True(refusedAt >= rotatedAt + grace - TimeSpan.FromSeconds(1),
                $"the old key was refused at {refusedAt:O}, before its grace period ended ({rotatedAt + grace:O})");
        }

        var after = await scenario.WaitReadyAsync(name, r => r.Status?.PreviousAccessKeyId is null, "no previous key in status");
        Assert.Equal(newKey.AccessKeyId, after.Status!.AccessKeyId);
        AssertNoSecretInLogs(oldKey, rgw.Admin);
        AssertNoSecretInLogs(newKey, rgw.Admin);
    }

    [Fact]
    public async Task The_API_server_enforces_the_CEL_rules_spec_workspace_is_immutable()
    {
        cluster.Require();

        // No RGW needed: these are the API server's own checks, before the operator sees anything.
        await using var scenario = await ClusterScenario.CreateAsync(cluster.Kubernetes, rgw: null);
        var name = "ws-cel-" + scenario.Suffix;
        await scenario.CreateWorkspaceStorageAsync(name, new JsonObject { ["workspace"] = "ws-user-github|12345" });

        var changed = await RefusedAsync(() => scenario.PatchWorkspaceStorageAsync(name, """{"spec":{"workspace":"ws-someone-else"}}"""));
        Assert.Contains("immutable", changed, StringComparison.Ordinal);
        Assert.Contains("spec.workspace", changed, StringComparison.Ordinal);

        // Removing the field would switch the effective workspace to metadata.name: refused by the object-level rule.
        var removed = await RefusedAsync(() => scenario.PatchWorkspaceStorageAsync(name, """{"spec":{"workspace":null}}"""));
        Assert.Contains("spec.workspace", removed, StringComparison.Ordinal);

        // Other edits still go through.
        await scenario.PatchWorkspaceStorageAsync(name, """{"spec":{"access":"ReadOnly"}}""");
        var current = await scenario.GetWorkspaceStorageAsync(name, Ct);
        Assert.Equal("ws-user-github|12345", current!.Spec.Workspace);
        Assert.Equal(WorkspaceAccess.ReadOnly, current.Spec.Access);

        // Creation-time rules: a workspace id without a hyphen, and rotation combined with a brought key.
        var reserved = await RefusedAsync(() => scenario.CreateWorkspaceStorageAsync("ws-reserved-" + scenario.Suffix, new JsonObject { ["workspace"] = "etc" }));
        Assert.Contains("hyphen", reserved, StringComparison.Ordinal);
        var byok = await RefusedAsync(() => scenario.CreateWorkspaceStorageAsync("ws-byok-" + scenario.Suffix, new JsonObject
        {
            ["credentials"] = new JsonObject { ["rotationInterval"] = "720h", ["existingSecretRef"] = new JsonObject { ["name"] = "mine" } },
        }));
        Assert.Contains("rotationInterval cannot be combined with existingSecretRef", byok, StringComparison.Ordinal);

        // Its backend never existed, so nothing was provisioned: let it go without the operator (as docs/deploy.md
        // describes for a stuck finalizer) rather than waiting for the cleanup's timeout.
        await scenario.DeleteWorkspaceStorageAsync(name);
        await scenario.PatchWorkspaceStorageAsync(name, """{"metadata":{"finalizers":null}}""");
        await scenario.WaitGoneAsync(name);
    }

    private void AssertNoSecretInLogs(AwsCredentials workspace, AwsCredentials admin)
    {
        var logs = string.Join('\n', cluster.Operator.Logs.Lines);
        Assert.DoesNotContain(workspace.SecretAccessKey, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(admin.SecretAccessKey, logs, StringComparison.Ordinal);
    }

    /// <summary>The API server's 422 body (the CEL message) for a call that must be refused.</summary>
    private static async Task<string> RefusedAsync(Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<HttpOperationException>(call);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, error.Response.StatusCode);
        return error.Response.Content;
    }

    private static async Task AssertForbiddenAsync(Func<Task> call, string what)
    {
        var error = await Assert.ThrowsAsync<AmazonS3Exception>(call);
        Assert.True(error.StatusCode == HttpStatusCode.Forbidden, $"{what}: expected 403, got {(int)error.StatusCode} {error.ErrorCode}");
    }

    private static async Task<HttpStatusCode> StatusOfGetAsync(AmazonS3Client s3, string bucket, string key, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await s3.GetObjectAsync(bucket, key, cancellationToken);
            return response.HttpStatusCode;
        }
        catch (AmazonS3Exception error)
        {
            return error.StatusCode;
        }
    }

    private static Task PutAsync(AmazonS3Client s3, string bucket, string key) =>
        s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = "hello" }, Ct);
}
