using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>
/// <c>/public/services/s3-storage/{function}</c>, the route real Hypha serves: the workspace is the token's current
/// workspace (<c>wid:</c>), never anything the caller names, and the permission still comes from its <c>ws:</c> grants.
/// </summary>
public sealed class PublicServiceRouteTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_call_acts_on_the_tokens_current_workspace_as_in_Hypha()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var a = (await h.AddWorkspaceAsync("pub")).Workspace;
        await h.PutObjectAsync(a.Prefix + "docs/in-a.txt", "a"u8.ToArray());

        using var response = await SendAsync(h, HttpMethod.Get, "list_files?path=docs/", h.Token(a, "r"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var names = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.EnumerateArray()
            .Select(e => e.GetProperty("name").GetString()).ToList();
        Assert.Equal(["in-a.txt"], names);

        using var post = await SendAsync(h, HttpMethod.Post, "generate_presigned_url", h.Token(a, "rw"),
            JsonContent.Create(new { path = "x.txt", client_method = "put_object" }));
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Contains($"/{a}/x.txt?", JsonDocument.Parse(await post.Content.ReadAsStringAsync(Ct)).RootElement.GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_current_workspace_grants_nothing_by_itself_and_arguments_cannot_pick_another_workspace()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var a = (await h.AddWorkspaceAsync("pa")).Workspace;
        var b = (await h.AddWorkspaceAsync("pb")).Workspace;
        await h.PutObjectAsync(b.Prefix + "secret.txt", "b"u8.ToArray());

        // wid: names B but the token only grants on A: no access to B.
        var foreign = h.Api.Tokens.Create("user-1", $"ws:{a}#rw wid:{b}");
        using (var response = await SendAsync(h, HttpMethod.Get, "list_files", foreign))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        // A caller of A naming B in the arguments stays in A.
        using (var response = await SendAsync(h, HttpMethod.Post, "list_files", h.Token(a, "rw"), JsonContent.Create(new { path = $"../{b}/" })))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        using (var response = await SendAsync(h, HttpMethod.Post, "list_files", h.Token(a, "rw"), JsonContent.Create(new { workspace = b.Value })))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("workspace is not an argument", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task No_token_is_401_a_token_without_a_current_workspace_is_400_and_the_description_is_served()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var a = (await h.AddWorkspaceAsync("pn")).Workspace;

        using (var response = await SendAsync(h, HttpMethod.Get, "list_files", token: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var response = await SendAsync(h, HttpMethod.Get, "list_files", h.Api.Tokens.Create("user-1", $"ws:{a}#rw")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("current workspace", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        using var description = await h.Http.GetAsync("/public/services/s3-storage", Ct);
        var root = JsonDocument.Parse(await description.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal("public/s3-storage", root.GetProperty("id").GetString());
        var parameters = root.GetProperty("put_file_start_multipart").GetProperty("function").GetProperty("parameters");
        Assert.Equal(10000, parameters.GetProperty("properties").GetProperty("part_count").GetProperty("maximum").GetInt32());
        Assert.Contains("part_count", parameters.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        foreach (var deprecated in new[] { "delete_file", "delete_directory" })
        {
            Assert.Equal(deprecated, root.GetProperty(deprecated).GetProperty("function").GetProperty("name").GetString());
        }
    }

    [Fact]
    public async Task Deprecated_delete_file_and_delete_directory_work_and_refuse_the_other_kind()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var a = (await h.AddWorkspaceAsync("pd")).Workspace;
        var token = h.Token(a, "rw");
        await h.PutObjectAsync(a.Prefix + "dir/one.txt", "1"u8.ToArray());
        await h.PutObjectAsync(a.Prefix + "dir/two.txt", "2"u8.ToArray());

        using (var response = await SendAsync(h, HttpMethod.Post, "delete_file", token, JsonContent.Create(new { path = "dir/" })))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.True((await h.CallOkAsync(a, "delete_file", token, new { path = "dir/one.txt" })).GetProperty("success").GetBoolean());
        Assert.False(await h.ExistsAsync(a.Prefix + "dir/one.txt"));
        using (var response = await SendAsync(h, HttpMethod.Post, "delete_directory", token, JsonContent.Create(new { path = "dir" })))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.True((await h.CallOkAsync(a, "delete_directory", token, new { path = "dir/" })).GetProperty("success").GetBoolean());
        Assert.False(await h.ExistsAsync(a.Prefix + "dir/two.txt"));
    }

    [Theory]
    [InlineData(10000, HttpStatusCode.OK)]
    [InlineData(10001, HttpStatusCode.BadRequest)]
    [InlineData(0, HttpStatusCode.BadRequest)]
    public async Task One_multipart_part_limit_on_both_forms_of_the_call(int partCount, HttpStatusCode expected)
    {
        // Decided: S3's largest part number (10,000, also Hypha's bound), in one place (MultipartUploads.MaxParts),
        // for the service function and the HTTP route alike; the route parses nothing of its own.
        await using var h = await StorageApiHarness.StartAsync();
        var a = (await h.AddWorkspaceAsync("pm")).Workspace;
        var token = h.Token(a, "rw");
        using var service = await h.CallAsync(a, "put_file_start_multipart", token, new { file_path = "big.bin", part_count = partCount });
        using var route = await h.SendAsync(HttpMethod.Post, $"/{a}/create-multipart-upload?path=big.bin&part_count={partCount}", token);
        Assert.Equal(expected, service.StatusCode);
        Assert.Equal(expected, route.StatusCode);
        if (expected == HttpStatusCode.BadRequest)
        {
            Assert.Contains("part_count must be between 1 and 10000", await route.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(StorageApiHarness h, HttpMethod method, string functionAndQuery, string? token, HttpContent? content = null) =>
        await h.SendAsync(method, "/public/services/s3-storage/" + functionAndQuery, token, content);
}
