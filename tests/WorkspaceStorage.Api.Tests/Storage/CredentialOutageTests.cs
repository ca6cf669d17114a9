using System.Net;
using System.Text.Json;
using Amazon.S3.Model;
using Hypha.Rpc;
using Hypha.Rpc.Services;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Api.HyphaRpc;
using WorkspaceStorage.Api.S3Storage;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>
/// generate_credential while radosgw is down (an RGW of this test's own: the shared one serves every other test): a clear
/// 503 over HTTP and the error a Hypha client reads as ConnectionError over RPC, never a 500 or a hang; and fresh
/// credentials again as soon as RGW answers, without restarting the API.
/// </summary>
public sealed class CredentialOutageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Generate_credential_during_an_RGW_outage_is_a_clear_503_and_ConnectionError_and_recovers_when_RGW_answers()
    {
        await using var rgw = await PrivateRgwServer.StartAsync(Ct);
        await using var h = await StorageApiHarness.StartAsync(server: rgw.Server);
        var w = (await h.AddWorkspaceAsync("outage")).Workspace;
        var token = h.Token(w, "rw");
        await h.CallOkAsync(w, "generate_credential", token);
        var rpc = new S3StorageRpcService(h.Api.App.Services.GetRequiredService<S3StorageInvoker>(), NullLogger<S3StorageRpcService>.Instance)
            .Definition("s3-storage").Functions.Single(f => f.Name == "generate_credential");

        await rgw.StopGatewayAsync(Ct);

        using (var down = await h.CallAsync(w, "generate_credential", token))
        {
            var body = await down.Content.ReadAsStringAsync(Ct);
            Assert.True(down.StatusCode == HttpStatusCode.ServiceUnavailable, $"HTTP {(int)down.StatusCode}: {body}");
            var error = JsonDocument.Parse(body).RootElement;
            Assert.False(error.GetProperty("success").GetBoolean());
            Assert.Equal("storage backend is unavailable, retry later", error.GetProperty("detail").GetString());
            Assert.NotNull(down.Headers.RetryAfter);
        }

        var refused = await Assert.ThrowsAsync<HyphaCallException>(() => rpc.Handler(Call(w), Ct));
        Assert.Equal("ConnectionError", refused.ErrorType);
        Assert.Equal("storage backend is unavailable, retry later", refused.Message);

        await rgw.StartGatewayAsync(Ct); // returns once RGW answers HTTP

        var credential = await h.CallOkAsync(w, "generate_credential", token);
        var keys = new AwsCredentials(credential.GetProperty("access_key_id").GetString()!, credential.GetProperty("secret_access_key").GetString()!,
            credential.GetProperty("session_token").GetString());
        using var s3 = rgw.Server.CreateAwsS3Client(keys);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = h.Location.Bucket, Key = w.Prefix + "after-outage.txt", ContentBody = "back" }, Ct);
        Assert.Equal("back"u8.ToArray(), await h.ReadObjectAsync(w.Prefix + "after-outage.txt"));
        Assert.NotNull(await rpc.Handler(Call(w), Ct));
    }

    /// <summary>A generate_credential call as Hypha stamps it: from a signed-in user with rw on <paramref name="workspace"/>.</summary>
    private static HyphaCall Call(WorkspaceId workspace)
    {
        var user = new HyphaUser("github|outage", false, null, ["user"],
            new HyphaUserScope(workspace.Value, new Dictionary<string, string> { [workspace.Value] = "rw" }, "client"), new Dictionary<string, object?>());
        return new HyphaCall([], new Dictionary<string, object?>(),
            new HyphaCallContext(workspace.Value, $"{workspace.Value}/client", "public/wso", user, new Dictionary<string, object?>()));
    }
}
