using System.Text.Json;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// One cluster and one registered companion for the class, with no /s3 proxy: presigned URLs and credentials point
/// straight at RGW, as they do for a deployment whose S3 endpoint is public.
/// </summary>
public sealed class CompanionWithoutProxy(SoleModeHypha hypha) : HyphaSystemFixture(hypha)
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?> { ["Api:S3Proxy:Enabled"] = "false" };
}

/// <summary>
/// Hypha's JavaScript client (npm hypha-rpc 0.21.40 in Node.js) using public/s3-storage through a real Hypha, with the
/// companion registered: the flows of the Python client's tests (WholeSystem/JavaScript/storage_client.mjs), with the AWS
/// SDK for JavaScript v3, fetch and axios.
/// </summary>
[Collection(SoleModeHyphaCollection.Name)]
public sealed class JavaScriptClientTests(CompanionWithoutProxy fixture) : IClassFixture<CompanionWithoutProxy>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private HyphaSystem System => fixture.System;

    private string RgwOrigin => System.Cluster.Rgw.Endpoint.GetLeftPart(UriPartial.Authority);

    [Fact]
    public async Task Generate_credential_gives_the_AWS_SDK_for_JavaScript_a_session_that_writes_only_under_the_callers_prefix()
    {
        var user = "js-cred-" + Guid.NewGuid().ToString("N")[..8];
        var result = await RunAsync(user, "credential_upload");

        Assert.Equal($"ws-user-{user}/", result.GetProperty("prefix").GetString());
        Assert.Equal("rw", result.GetProperty("access").GetString());
        Assert.True(result.GetProperty("has_session_token").GetBoolean(), "generate_credential gave no session token");
        Assert.Equal("AccessDenied", result.GetProperty("root_listing").GetString());
        Assert.Equal("AccessDenied", result.GetProperty("outside_write").GetString());
        Assert.Equal("AccessDenied", result.GetProperty("sibling_prefix_write").GetString());
    }

    [Fact]
    public async Task Presigned_URLs_work_with_fetch_and_axios_straight_against_RGW_and_keyword_arguments_need_rkwargs()
    {
        var result = await RunAsync("js-presign-" + Guid.NewGuid().ToString("N")[..8], "presigned_http");

        Assert.Equal("ok", result.GetProperty("presigned").GetString());
        Assert.Equal(RgwOrigin, result.GetProperty("presigned_origin").GetString());
        // hypha-rpc (JavaScript) sends a trailing object without _rkwargs as one more positional argument: refused, not guessed.
        Assert.Contains("client_method must be a string", result.GetProperty("plain_object_argument").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_put_get_single_and_batch_a_three_part_multipart_upload_and_remove_file_work()
    {
        var result = await RunAsync("js-files-" + Guid.NewGuid().ToString("N")[..8], "file_functions");

        Assert.Equal("ok", result.GetProperty("files").GetString());
        Assert.Equal((5 + 5 + 2.5) * 1024 * 1024, result.GetProperty("multipart_bytes").GetInt32());
    }

    [Fact]
    public async Task A_read_only_member_lists_and_reads_but_cannot_put_delete_or_get_read_write_credentials()
    {
        var owner = "js-owner-" + Guid.NewGuid().ToString("N")[..8];
        var result = await RunAsync(owner, "read_only_member");

        Assert.Equal($"ws-user-{owner}", result.GetProperty("reader_ws").GetString());
        foreach (var refusal in result.GetProperty("reader_refusals").EnumerateObject())
        {
            Assert.Contains("PermissionError", refusal.Value.GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(3, result.GetProperty("reader_refusals").EnumerateObject().Count());
        Assert.Equal("r", result.GetProperty("reader_credential_access").GetString());
        Assert.Equal("AccessDenied", result.GetProperty("reader_credential_write").GetString());
    }

    /// <summary>Runs storage_client.mjs as a brand-new user; fails the test (with the output and the companion's log) when a check failed.</summary>
    private async Task<JsonElement> RunAsync(string user, params string[] commands)
    {
        var node = NodeJs.Require();
        var run = await node.RunAsync("storage_client.mjs", commands, new Dictionary<string, string>
        {
            ["HYPHA_SERVER_URL"] = System.Hypha.Url.ToString().TrimEnd('/'),
            ["HYPHA_TOKEN"] = StorageClientRun.NewUserToken(System, user),
        }, TimeSpan.FromMinutes(3), Ct);
        Assert.True(run.ExitCode == 0, $"storage_client.mjs {string.Join(' ', commands)} failed:\n{run}\n--- companion log tail\n{System.Companion.Logs.Tail(20)}");
        var result = run.Result();
        TestContext.Current.TestOutputHelper?.WriteLine($"{result.GetProperty("client").GetString()}: {result.GetProperty("seconds")} (whole run {run.Duration.TotalSeconds:0.0} s)");
        return result;
    }
}
