using System.Text.RegularExpressions;
using Amazon.S3.Model;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.Storage.Tests.CephRgw;

/// <summary>
/// The admin caps docs/deploy.md tells a platform engineer to give the ceph-rgw backend's admin user, read out of the
/// doc itself: with exactly those caps a workspace's whole life works against the real RGW, and without any one of
/// them the step the doc names fails, so the list is both enough and minimal.
/// </summary>
public sealed partial class RgwAdminCapsTests
{
    private static CancellationToken Ct => RgwBackendHarness.Ct;

    /// <summary>The first step of <see cref="LifeAsync"/> that fails without each cap (measured on Pacific 16.2.15).</summary>
    public static readonly TheoryData<string, string> StepWithoutCap = new()
    {
        { "users", "health" },
        { "roles", "identity" },
        { "user-policy", "identity" },
    };

    [Fact]
    public async Task The_caps_the_deploy_doc_lists_are_enough_for_a_workspaces_whole_life()
    {
        var caps = DocCaps();
        Assert.Equal(StepWithoutCap.Select(row => row.Data.Item1).Order(StringComparer.Ordinal), caps.Keys.Order(StringComparer.Ordinal));

        var (failed, why) = await LifeWithCapsAsync(Render(caps));
        Assert.True(failed is null, $"with the doc's caps {Render(caps)} step {failed} failed: {why}");
    }

    [Theory]
    [MemberData(nameof(StepWithoutCap))]
    public async Task Without_one_of_the_docs_caps_a_named_step_fails(string cap, string step)
    {
        var caps = DocCaps();
        Assert.True(caps.Remove(cap), $"docs/deploy.md does not list the cap {cap}");

        var (failed, why) = await LifeWithCapsAsync(Render(caps));
        Assert.True(failed == step, $"without {cap} ({Render(caps)}) expected step {step} to fail, but {(failed is null ? "every step passed" : $"{failed} failed: {why}")}");
    }

    /// <summary>
    /// The admin needs no cap to use the shared bucket, but it must own it: on a bucket another user made, the
    /// backend's own S3 calls (CORS here; listing and deleting a workspace's data likewise) are refused.
    /// </summary>
    [Fact]
    public async Task The_admin_must_own_the_bucket_it_is_given()
    {
        var server = RgwTestServer.Require();
        var bucket = RgwTestServer.UniqueBucketName("caps-owner");
        using (var other = server.CreateAwsS3Client(server.Admin))
        {
            await other.PutBucketAsync(bucket, Ct);
        }

        try
        {
            var (failed, why) = await LifeWithCapsAsync(Render(DocCaps()), bucket);
            Assert.True(failed == "cors", $"on a bucket the admin does not own expected step cors to fail, but {(failed is null ? "every step passed" : $"{failed} failed: {why}")}");
        }
        finally
        {
            using var other = server.CreateAwsS3Client(server.Admin);
            var left = await other.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket }, CancellationToken.None);
            foreach (var item in left.S3Objects ?? [])
            {
                await other.DeleteObjectAsync(bucket, item.Key, CancellationToken.None);
            }

            await other.DeleteBucketAsync(bucket, CancellationToken.None);
        }
    }

    /// <summary>The doc's Rook CephObjectStoreUser asks for the same caps as its radosgw-admin command.</summary>
    [Fact]
    public void The_deploy_docs_Rook_user_has_the_same_caps()
    {
        var doc = File.ReadAllText(RepositoryRoot.Combine("docs", "deploy.md"));
        var user = Assert.Single(YamlBlock().Matches(doc).SelectMany(b => YamlDocuments.Parse(b.Groups[1].Value)),
            d => d["kind"]?.GetValue<string>() == "CephObjectStoreUser");
        var rook = user["spec"]!["capabilities"]!.AsObject().ToDictionary(c => c.Key, c => c.Value!.GetValue<string>(), StringComparer.Ordinal);
        Assert.Equal(DocCaps().OrderBy(c => c.Key, StringComparer.Ordinal), rook.OrderBy(c => c.Key, StringComparer.Ordinal));
    }

    /// <summary>The caps of the <c>radosgw-admin user create --uid=wso-admin … --caps="…"</c> command in docs/deploy.md, cap → permission.</summary>
    internal static Dictionary<string, string> DocCaps()
    {
        var doc = File.ReadAllText(RepositoryRoot.Combine("docs", "deploy.md"));
        var create = DocCapsCommand().Match(doc);
        Assert.True(create.Success, "docs/deploy.md has no `radosgw-admin user create --uid=wso-admin … --caps=\"…\"` command");
        return create.Groups[1].Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(c => c.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
    }

    private static string Render(Dictionary<string, string> caps) => string.Join(';', caps.Select(c => $"{c.Key}={c.Value}"));

    /// <summary>
    /// Makes an admin user with <paramref name="caps"/> (through the test server's full admin), runs <see cref="LifeAsync"/>
    /// with it, and removes everything again. Returns the first failing step and why, or (null, null).
    /// </summary>
    private static async Task<(string? Step, string? Why)> LifeWithCapsAsync(string caps, string? foreignBucket = null)
    {
        var server = RgwTestServer.Require();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
        var full = new RgwConnection(server.Endpoint, server.Region, server.Admin,
            new SignedHttpSender(http, new SigV4Signer(), new RetryOptions(), NullBackendCallObserver.Instance, "test"));
        var uid = $"wso-caps-{RgwBackendHarness.RandomPart()}";
        var admin = AccessKeyGenerator.Generate();
        await SendAsync(full, HttpMethod.Put,
            $"/admin/user?uid={uid}&display-name={uid}&access-key={admin.AccessKeyId}&secret-key={AwsUriEncoding.Escape(admin.SecretAccessKey)}&user-caps={AwsUriEncoding.Escape(caps)}&format=json",
            "create-admin-user");

        WorkspaceId? workspace = null;
        try
        {
            await using var h = RgwBackendHarness.ForAdmin(admin, foreignBucket);
            workspace = h.NewWorkspace("caps");
            return await LifeAsync(h, admin, workspace, foreignBucket is null);
        }
        finally
        {
            if (workspace is not null)
            {
                await using var cleanup = RgwBackendHarness.WithBackend();
                await cleanup.Backend.DeleteWorkspaceAsync(workspace, DataDeletion.Retain, CancellationToken.None);
            }

            // purge-data removes the bucket the admin made, with whatever is left in it.
            await SendAsync(full, HttpMethod.Delete, $"/admin/user?uid={uid}&purge-data=true&format=json", "remove-admin-user");
        }
    }

    /// <summary>
    /// A workspace's whole life through the ceph-rgw backend whose one admin key is <paramref name="admin"/>: what the
    /// operator (StorageBackend and WorkspaceStorage reconciles) and the companion (generate_credential) do with it.
    /// </summary>
    private static async Task<(string? Step, string? Why)> LifeAsync(RgwBackendHarness h, AwsCredentials admin, WorkspaceId w, bool createsBucket)
    {
        var backend = h.Backend;
        using var owner = h.Server.CreateAwsS3Client(admin);
        var cors = BucketCorsRule.Hypha(["https://app.example.org"], BucketCorsRule.OperatorRuleId("caps"));
        var key = AccessKeyGenerator.Generate();
        var rotated = AccessKeyGenerator.Generate();
        var names = RgwNames.For(w, CephRgwStorageBackend.MaxNameLength);

        var steps = new (string Name, Func<Task> Run)[]
        {
            ("health", async () =>
            {
                var health = await backend.CheckHealthAsync(Ct);
                Assert.True(health.Healthy, health.Detail);
            }),
            ("bucket", async () => Assert.Equal(createsBucket ? EnsureOutcome.Created : EnsureOutcome.Unchanged, await backend.EnsureBucketAsync(Ct))),
            ("cors", async () => Assert.Equal(EnsureOutcome.Created, await backend.EnsureBucketCorsAsync(cors, Ct))),
            ("identity", async () => Assert.Equal(EnsureOutcome.Created, await backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct))),
            ("key", async () =>
            {
                Assert.Equal(EnsureOutcome.Created, await backend.EnsureKeyAsync(w, key, Ct));
                await PutAsync(h, key, w.Prefix + "by-key");
            }),
            ("rotation", async () =>
            {
                Assert.Equal(EnsureOutcome.Created, await backend.EnsureKeyAsync(w, rotated, Ct));
                Assert.Equal(EnsureOutcome.Deleted, await backend.RevokeKeyAsync(w, key.AccessKeyId, Ct));
                Assert.Equal([rotated.AccessKeyId], await backend.ListKeysAsync(w, Ct));
                await PutAsync(h, rotated, w.Prefix + "by-rotated-key");
            }),
            ("temporary-credential", async () =>
            {
                var session = await backend.IssueTemporaryCredentialsAsync(w, AccessLevel.ReadWrite, TimeSpan.FromMinutes(15), Ct);
                await PutAsync(h, session.Credentials, w.Prefix + "by-session");
            }),
            ("drift-repair", async () =>
            {
                // Behind the backend's back (the server's full admin): a wide extra policy and a suspended user.
                await h.Iam.PutUserPolicyAsync(names.Identity, "sneaky", RgwBackendHarness.WidePolicy, Ct);
                await SendAsync(h, HttpMethod.Post, $"/admin/user?uid={names.Identity}&suspended=true&format=json", "suspend-user");
                Assert.Equal(EnsureOutcome.Updated, await backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct));
                Assert.Equal([names.Policy], await h.Iam.ListUserPoliciesAsync(names.Identity, Ct));
                await PutAsync(h, rotated, w.Prefix + "after-repair");
            }),
            ("cors-removal", async () => Assert.Equal(EnsureOutcome.Deleted, await backend.RemoveBucketCorsAsync(cors.Id!, Ct))),
            ("delete", async () =>
            {
                Assert.Equal(EnsureOutcome.Deleted, await backend.DeleteWorkspaceAsync(w, DataDeletion.Delete, Ct));
                Assert.False(await h.IdentityExistsAsync(w), "the workspace's RGW user is still there");
                var left = await owner.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = w.Prefix }, Ct);
                Assert.Empty(left.S3Objects ?? []);
            }),
        };

        foreach (var (name, run) in steps)
        {
            try
            {
                await run();
            }
            catch (Exception ex) when (ex is StorageBackendException or Amazon.S3.AmazonS3Exception or Xunit.Sdk.XunitException)
            {
                return (name, $"{ex.GetType().Name}: {ex.Message}");
            }
        }

        return (null, null);
    }

    private static async Task PutAsync(RgwBackendHarness h, AwsCredentials credentials, string key)
    {
        using var s3 = h.Client(credentials);
        await S3Outcome.Allowed(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = h.Bucket, Key = key, ContentBody = "x" }, Ct), $"put {key}");
    }

    private static async Task SendAsync(RgwBackendHarness h, HttpMethod method, string pathAndQuery, string operation)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
        await SendAsync(new RgwConnection(h.Server.Endpoint, h.Server.Region, h.Server.Admin,
            new SignedHttpSender(http, new SigV4Signer(), new RetryOptions(), NullBackendCallObserver.Instance, "test")), method, pathAndQuery, operation);
    }

    private static async Task SendAsync(RgwConnection connection, HttpMethod method, string pathAndQuery, string operation)
    {
        var response = await connection.SendAsync(method, pathAndQuery, "s3", operation, isWrite: true, CancellationToken.None);
        Assert.True(response.IsSuccess, $"{operation}: HTTP {response.StatusCode}");
    }

    [GeneratedRegex("```yaml\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();

    [GeneratedRegex(@"radosgw-admin user create --uid=wso-admin [^`]*?--caps=""([^""]+)""")]
    private static partial Regex DocCapsCommand();
}
