using System.Net;
using System.Text.Json;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>
/// The companion and workspace quotas, on the real API in front of the real RGW: an upload it knows would exceed the
/// quota (status.usage + Content-Length over status.quota) is refused before the body goes to storage, and RGW's own 403
/// for an identity the operator narrowed to ReadDelete reaches the client as a quota error, not a bare "access denied".
/// </summary>
public sealed class UploadQuotaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_upload_whose_declared_length_would_exceed_the_quota_is_refused_with_413_and_nothing_is_stored()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var ws = await h.AddWorkspaceAsync("quota-");
        h.Directory.Put(ws with { Quota = new QuotaLimits(1000, 10), Usage = new UsageFigures(900, 1, Complete: true) });
        var token = h.Token(ws.Workspace, "rw");

        using var fits = await h.PutFileAsync(ws.Workspace, "small.bin", new byte[100], token);
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);

        using var over = await h.PutFileAsync(ws.Workspace, "big.bin", new byte[101], token);
        var detail = await DetailAsync(over);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, over.StatusCode);
        Assert.Contains("would exceed its quota of 1000 bytes", detail, StringComparison.Ordinal);
        Assert.Contains($"workspace '{ws.Workspace}'", detail, StringComparison.Ordinal);
        Assert.Contains("900 of 1000 bytes, 1 of 10 objects", detail, StringComparison.Ordinal);
        Assert.False(await h.ExistsAsync(ws.Workspace.Prefix + "big.bin"));
    }

    [Fact]
    public async Task At_the_quota_a_presigned_put_and_a_multipart_start_are_refused_with_403_but_a_get_is_not()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var ws = await h.AddWorkspaceAsync("quota-");
        h.Directory.Put(ws with { Quota = new QuotaLimits(null, 3), Usage = new UsageFigures(10, 3, Complete: true) });
        var token = h.Token(ws.Workspace, "rw");

        using var put = await h.CallAsync(ws.Workspace, "generate_presigned_url", token, new Dictionary<string, object> { ["path"] = "a.txt", ["client_method"] = "put_object" });
        Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
        Assert.Contains("holds 3 objects and its quota allows 3", await DetailAsync(put), StringComparison.Ordinal);

        using var multipart = await h.CallAsync(ws.Workspace, "put_file_start_multipart", token, new Dictionary<string, object> { ["file_path"] = "m.bin", ["part_count"] = 2 });
        Assert.Equal(HttpStatusCode.Forbidden, multipart.StatusCode);

        await h.CallOkAsync(ws.Workspace, "generate_presigned_url", token, new Dictionary<string, object> { ["path"] = "a.txt", ["client_method"] = "get_object" });
    }

    [Fact]
    public async Task Rgws_own_refusal_of_a_put_for_an_over_quota_workspace_reads_as_a_quota_error()
    {
        await using var h = await StorageApiHarness.StartAsync();
        // The operator narrowed the identity to ReadDelete; the companion's copy of the usage is older and says "under".
        var ws = await h.AddWorkspaceAsync("quota-", AccessLevel.ReadDelete);
        h.Directory.Put(ws with { Access = AccessLevel.ReadWrite, Quota = new QuotaLimits(1000, null), Usage = new UsageFigures(0, 0, Complete: true) });
        var token = h.Token(ws.Workspace, "rw");

        using var refused = await h.PutFileAsync(ws.Workspace, "x.bin", new byte[10], token);
        var detail = await DetailAsync(refused);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("refused by the storage server", detail, StringComparison.Ordinal);
        Assert.Contains("is at its quota", detail, StringComparison.Ordinal);
        Assert.False(await h.ExistsAsync(ws.Workspace.Prefix + "x.bin"));
    }

    private static async Task<string> DetailAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        using var json = JsonDocument.Parse(body);
        Assert.False(json.RootElement.GetProperty("success").GetBoolean(), body);
        return json.RootElement.GetProperty("detail").GetString()!;
    }
}
