using System.Net;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>
/// <c>Storage:FileDownloadMode=Redirect</c>: GET /files answers 307 to a short-lived presigned GET signed with the
/// workspace's own key, against the real RGW. What a user notices: the bytes arrive (ranges too), the URL expires,
/// the API's checks still come first, and the URL reaches nothing outside the workspace.
/// </summary>
public sealed class FileDownloadRedirectTests
{
    private static CancellationToken Ct => StorageApiHarness.Ct;

    private static Task<StorageApiHarness> StartRedirectingAsync() => StorageApiHarness.StartAsync(new Dictionary<string, string?>
    {
        ["Storage:FileDownloadMode"] = "Redirect",
        ["Storage:FileDownloadUrlLifetime"] = "00:02:00",
    });

    /// <summary>GET as a client that shows the redirect instead of following it.</summary>
    private static async Task<HttpResponseMessage> GetUnfollowedAsync(StorageApiHarness h, string path, string? token)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = h.Api.BaseAddress };
        using var request = h.Request(HttpMethod.Get, path, token);
        return await client.SendAsync(request, Ct);
    }

    [Fact]
    public async Task A_client_that_follows_redirects_gets_the_file_from_S3_without_sending_its_token_there()
    {
        await using var h = await StartRedirectingAsync();
        var w = (await h.AddWorkspaceAsync("redir")).Workspace;
        var content = StorageApiHarness.RandomBytes(10_000);
        await h.PutObjectAsync(w.Prefix + "f.bin", content);

        // .NET drops Authorization on a redirect, as browsers and curl do; S3 would refuse two kinds of auth at once.
        using var followed = await h.SendAsync(HttpMethod.Get, $"/{w}/files/f.bin", h.Token(w, "r"));
        Assert.Equal(HttpStatusCode.OK, followed.StatusCode);
        Assert.Equal(h.Location.PublicEndpoint.Port, followed.RequestMessage!.RequestUri!.Port);
        Assert.Equal(content, await followed.Content.ReadAsByteArrayAsync(Ct));
    }

    [Fact]
    public async Task A_file_GET_is_a_307_to_a_presigned_URL_that_serves_the_bytes_and_ranges()
    {
        await using var h = await StartRedirectingAsync();
        var w = (await h.AddWorkspaceAsync("redir")).Workspace;
        var content = StorageApiHarness.RandomBytes(100_000);
        await h.PutObjectAsync(w.Prefix + "data/big.bin", content);

        using var response = await GetUnfollowedAsync(h, $"/{w}/files/data/big.bin", h.Token(w, "r"));
        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var location = response.Headers.Location!;
        Assert.StartsWith(h.Location.PublicEndpoint.GetLeftPart(UriPartial.Authority), location.AbsoluteUri, StringComparison.Ordinal);
        Assert.Contains("X-Amz-Expires=120", location.Query, StringComparison.Ordinal);
        Assert.Contains($"/{w}/data/big.bin", location.AbsolutePath, StringComparison.Ordinal);

        using var s3 = StorageApiHarness.UrlClient();
        Assert.Equal(content, await s3.GetByteArrayAsync(location, Ct));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, location);
        ranged.Headers.TryAddWithoutValidation("Range", "bytes=-10");
        using var part = await s3.SendAsync(ranged, Ct);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(content[^10..], await part.Content.ReadAsByteArrayAsync(Ct));
    }

    [Fact]
    public async Task The_API_still_refuses_before_redirecting_and_directories_are_still_listed_by_the_API()
    {
        await using var h = await StartRedirectingAsync();
        var w = (await h.AddWorkspaceAsync("redir")).Workspace;
        var other = (await h.AddWorkspaceAsync("redirother")).Workspace;
        await h.PutObjectAsync(w.Prefix + "dir/a.txt", "a"u8.ToArray());

        using (var anonymous = await GetUnfollowedAsync(h, $"/{w}/files/dir/a.txt", token: null))
        {
            // Without a token the caller is Hypha's anonymous user, who has no grant on this workspace.
            Assert.Equal(HttpStatusCode.Forbidden, anonymous.StatusCode);
            Assert.Null(anonymous.Headers.Location);
        }

        using (var foreign = await GetUnfollowedAsync(h, $"/{w}/files/dir/a.txt", h.Token(other, "a")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
            Assert.Null(foreign.Headers.Location);
        }

        using (var traversal = await GetUnfollowedAsync(h, $"/{w}/files/a/..%2F..%2F{other}%2Fx", h.Token(w, "r")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, traversal.StatusCode);
            Assert.Null(traversal.Headers.Location);
        }

        using var listing = await h.SendAsync(HttpMethod.Get, $"/{w}/files/dir/", h.Token(w, "r"));
        Assert.Equal(HttpStatusCode.OK, listing.StatusCode);
        Assert.Contains("a.txt", await listing.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_redirect_URL_edited_to_reach_ws_ab_is_refused_by_S3()
    {
        await using var h = await StartRedirectingAsync();
        var random = StorageApiHarness.RandomPart();
        var a = (await h.AddWorkspaceAsync("r", random: random)).Workspace;
        var ab = (await h.AddWorkspaceAsync("r", random: random, suffix: "b")).Workspace;
        await h.PutObjectAsync(a.Prefix + "secret.txt", "a"u8.ToArray());
        await h.PutObjectAsync(ab.Prefix + "secret.txt", "ab secret"u8.ToArray());

        using var response = await GetUnfollowedAsync(h, $"/{a}/files/secret.txt", h.Token(a, "r"));
        var location = response.Headers.Location!.AbsoluteUri;
        var edited = location.Replace($"/{a}/secret.txt", $"/{ab}/secret.txt", StringComparison.Ordinal);
        Assert.NotEqual(location, edited);
        using var s3 = StorageApiHarness.UrlClient();
        using var refused = await s3.GetAsync(edited, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }
}
