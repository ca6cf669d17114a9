using System.Net;
using WorkspaceStorage.Api.Ttl;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>TTLs count from upload completion, survive an API restart, and are kept durably in the bucket.</summary>
public sealed class TtlTests
{
    private static CancellationToken Ct => StorageApiHarness.Ct;

    [Fact]
    public async Task The_ttl_counts_from_upload_completion_not_from_URL_issue()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("ttlc")).Workspace;
        var token = h.Token(w, "rw");
        var url = (await h.CallOkAsync(w, "put_file", token, new { file_path = "late.txt", ttl = 3 })).GetString()!;

        // Upload after the ttl has passed since issue: Hypha would already have scheduled (and run) the deletion.
        await Task.Delay(TimeSpan.FromSeconds(4), Ct); // the ttl passing between issue and upload: what is tested
        using var urls = StorageApiHarness.UrlClient();
        using (var put = await urls.PutAsync(url, new ByteArrayContent("late"u8.ToArray()), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        // Right after the upload the file is there, although more than its ttl passed since the URL was issued.
        using (var soon = await h.SendAsync(HttpMethod.Get, $"/{w}/files/late.txt", token))
        {
            Assert.Equal(HttpStatusCode.OK, soon.StatusCode);
        }

        await Eventually.TrueAsync(async ct =>
        {
            using var later = await h.SendAsync(HttpMethod.Get, $"/{w}/files/late.txt", token);
            return later.StatusCode == HttpStatusCode.NotFound;
        }, "late.txt deleted once its ttl passed after the upload");
    }

    [Fact]
    public async Task A_restart_of_the_API_mid_TTL_still_deletes_the_file()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("ttlr")).Workspace;
        var url = (await h.CallOkAsync(w, "put_file", h.Token(w, "rw"), new { file_path = "restart.txt", ttl = 3 })).GetString()!;
        using var urls = StorageApiHarness.UrlClient();
        using (var put = await urls.PutAsync(url, new ByteArrayContent("x"u8.ToArray()), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        // The deadline lives in the bucket, not in the process.
        var markers = await h.AdminClient.ListAsync(TtlMarkerStore.MarkerPrefix, cancellationToken: Ct);
        Assert.Contains(markers.Objects, o => o.Key == TtlMarkerStore.MarkerKey(w.Prefix + "restart.txt"));
        await h.StopApiAsync();
        await Task.Delay(TimeSpan.FromSeconds(4), Ct); // the ttl passing while no API runs: what is tested
        Assert.True(await h.ExistsAsync(w.Prefix + "restart.txt")); // nobody swept while the API was down

        await h.RestartApiAsync();
        await Eventually.TrueAsync(async _ => !await h.ExistsAsync(w.Prefix + "restart.txt"), "the restarted API to sweep restart.txt");
        using var gone = await h.SendAsync(HttpMethod.Get, $"/{w}/files/restart.txt", h.Token(w, "rw"));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Multipart_uploads_with_a_ttl_expire_after_completion_and_files_without_one_stay()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("ttlm")).Workspace;
        var token = h.Token(w, "rw");
        await h.PutObjectAsync(w.Prefix + "keep.txt", "keep"u8.ToArray());

        var started = await h.CallOkAsync(w, "put_file_start_multipart", token, new { file_path = "m.bin", part_count = 1, ttl = 2 });
        using var urls = StorageApiHarness.UrlClient();
        using var part = await urls.PutAsync(started.GetProperty("parts")[0].GetProperty("url").GetString(), new ByteArrayContent("mp"u8.ToArray()), Ct);
        await h.CallOkAsync(w, "put_file_complete_multipart", token,
            new { upload_id = started.GetProperty("upload_id").GetString(), parts = new[] { new { part_number = 1, etag = part.Headers.ETag!.Tag } } });
        Assert.True(await h.ExistsAsync(w.Prefix + "m.bin"));

        await Eventually.TrueAsync(async _ => !await h.ExistsAsync(w.Prefix + "m.bin"), "m.bin deleted once its ttl passed");
        Assert.True(await h.ExistsAsync(w.Prefix + "keep.txt")); // the sweep that deleted m.bin left it
    }

    [Fact]
    public async Task A_ttl_for_a_workspace_without_a_bookkeeping_key_is_refused_before_any_URL_is_issued()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var handle = await h.AddWorkspaceAsync("ttln");
        h.Directory.Put(handle with { BucketAdmin = null });

        using var response = await h.CallAsync(handle.Workspace, "put_file", h.Token(handle.Workspace, "rw"), new { file_path = "a.txt", ttl = 5 });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"ttl ", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }
}
