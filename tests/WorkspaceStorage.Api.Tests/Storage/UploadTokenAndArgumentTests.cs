using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Multipart;
using WorkspaceStorage.Api.S3Storage;
using WorkspaceStorage.Api.Ttl;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>Upload tokens, keyword-argument parsing and TTL marker parsing, without a server.</summary>
public sealed class UploadTokenAndArgumentTests
{
    private static readonly WorkspaceId Alpha = WorkspaceId.Parse("ws-alpha");
    private static readonly WorkspaceId AlphaB = WorkspaceId.Parse("ws-alphab");

    [Fact]
    public void An_upload_token_opens_only_in_its_workspace_and_only_with_its_key()
    {
        var tokens = new MultipartUploadTokens(RandomNumberGenerator.GetBytes(32));
        var token = tokens.Issue(Alpha, "ws-alpha/big.bin", "s3-upload-id");

        Assert.Equal(new MultipartUploadTicket("ws-alpha", "ws-alpha/big.bin", "s3-upload-id"), tokens.Open(Alpha, token));
        Assert.Null(tokens.Open(AlphaB, token));
        Assert.Null(new MultipartUploadTokens(RandomNumberGenerator.GetBytes(32)).Open(Alpha, token));
        var parts = token.Split('.');
        var tampered = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"w":"ws-alphab","k":"ws-alphab/x","u":"s3-upload-id"}""")).TrimEnd('=');
        Assert.Null(tokens.Open(AlphaB, $"{parts[0]}.{tampered}.{parts[2]}"));
        foreach (var garbage in new[] { "", "u1", "u1..", "u2." + parts[1] + "." + parts[2], token + "x", "u1.!!!.???" })
        {
            Assert.Null(tokens.Open(Alpha, garbage));
        }
    }

    [Fact]
    public void A_token_whose_key_is_outside_its_workspace_is_refused_even_when_signed()
    {
        var tokens = new MultipartUploadTokens(RandomNumberGenerator.GetBytes(32));
        Assert.Null(tokens.Open(Alpha, tokens.Issue(Alpha, "ws-alphab/x", "id")));
    }

    [Fact]
    public async Task Query_arguments_accept_repeated_values_JSON_lists_and_numbers_as_text()
    {
        var repeated = await ReadQueryAsync("?file_path=a&file_path=b&ttl=5");
        Assert.Equal(["a", "b"], repeated.StringOrList("file_path", out var isList));
        Assert.True(isList);
        Assert.Equal([5, 5], repeated.IntOrList("ttl", 2, 1, 10));

        var json = await ReadQueryAsync("?file_path=" + Uri.EscapeDataString("""["a","b","c"]""") + "&ttl=" + Uri.EscapeDataString("[1,null,3]"));
        Assert.Equal(3, json.StringOrList("file_path", out _).Count);
        Assert.Equal([1, null, 3], json.IntOrList("ttl", 3, 1, 10));

        var single = await ReadQueryAsync("?file_path=a.txt&expires_in=60");
        Assert.Equal(["a.txt"], single.StringOrList("file_path", out var singleIsList));
        Assert.False(singleIsList);
        Assert.Equal(60, single.Int("expires_in", 3600, 1, 604800));
        Assert.Equal(3600, single.Int("expiration", 3600, 1, 604800));

        var error = Assert.Throws<ApiArgumentException>(() => single.Int("file_path", 0, 0, 1));
        Assert.Equal("file_path", error.Argument);
        Assert.Equal("expires_in", Assert.Throws<ApiArgumentException>(() => single.Int("expires_in", 0, 61, 100)).Argument);
        var extra = await ReadQueryAsync("?extra=1&_rkwargs=1");
        Assert.Equal("extra", Assert.Throws<ApiArgumentException>(() => extra.RejectUnknown(["path"])).Argument);
    }

    [Fact]
    public void Ttl_markers_outside_their_workspace_or_unreadable_are_refused()
    {
        static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);
        const string Times = "\"ttl_seconds\":3,\"issued_at\":\"2026-01-01T00:00:00Z\",\"upload_deadline\":\"2026-01-01T01:00:00Z\"";
        Assert.NotNull(TtlMarkerStore.Parse(Json("{\"workspace\":\"ws-a\",\"key\":\"ws-a/x\"," + Times + "}")));
        Assert.Null(TtlMarkerStore.Parse(Json("{\"workspace\":\"ws-a\",\"key\":\"ws-ab/x\"," + Times + "}")));
        Assert.Null(TtlMarkerStore.Parse(Json("{\"workspace\":\"ws-a\",\"key\":\"ws-a/\"," + Times + "}")));
        Assert.Null(TtlMarkerStore.Parse(Json("{\"workspace\":\"etc\",\"key\":\"etc/x\"," + Times + "}")));
        Assert.Null(TtlMarkerStore.Parse(Json("not json")));
        Assert.StartsWith(TtlMarkerStore.MarkerPrefix, TtlMarkerStore.MarkerKey("ws-a/x"), StringComparison.Ordinal);
        Assert.NotEqual(TtlMarkerStore.MarkerKey("ws-a/x"), TtlMarkerStore.MarkerKey("ws-a/y"));
    }

    private static ValueTask<ServiceArguments> ReadQueryAsync(string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.QueryString = new QueryString(query);
        return WorkspaceStorage.Api.Http.HttpServiceArguments.ReadAsync(context.Request, TestContext.Current.CancellationToken);
    }
}
