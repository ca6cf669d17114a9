using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;
using Microsoft.Extensions.Time.Testing;

namespace WorkspaceStorage.Storage.Tests.S3;

/// <summary>Presigned URL shape and key escaping, without a server.</summary>
public sealed class S3ObjectClientPresignTests : IDisposable
{
    private static readonly S3Location Location = new(new Uri("http://10.0.0.5:7480"), new Uri("https://s3.example.org"), "us-east-1", "hypha-workspaces");
    private static readonly AwsCredentials WorkspaceKey = new("WSKEYID", "workspace-secret-never-shown");

    private readonly S3ClientFactory factory = new();

    public void Dispose() => factory.Dispose();

    [Fact]
    public void Presigned_get_points_at_the_public_endpoint_path_style_and_names_the_workspace_key()
    {
        var url = new Uri(factory.Create(Location, WorkspaceKey).Presign(HttpMethod.Get, "ws-a/data.csv", TimeSpan.FromHours(1)));

        Assert.Equal("https", url.Scheme);
        Assert.Equal("s3.example.org", url.Host);
        Assert.Equal("/hypha-workspaces/ws-a/data.csv", url.AbsolutePath);
        var query = HttpRequestSigning.ParseQuery(url.Query).ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("AWS4-HMAC-SHA256", query["X-Amz-Algorithm"]);
        Assert.StartsWith("WSKEYID/", query["X-Amz-Credential"], StringComparison.Ordinal);
        Assert.EndsWith("/us-east-1/s3/aws4_request", query["X-Amz-Credential"], StringComparison.Ordinal);
        Assert.Equal("3600", query["X-Amz-Expires"]);
        Assert.Equal("host", query["X-Amz-SignedHeaders"]);
        Assert.Matches("^[0-9a-f]{64}$", query["X-Amz-Signature"]);
        Assert.DoesNotContain("workspace-secret-never-shown", url.OriginalString, StringComparison.Ordinal);
        Assert.DoesNotContain("10.0.0.5", url.OriginalString, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ws-a/my file.txt", "/hypha-workspaces/ws-a/my%20file.txt")]
    [InlineData("ws-user-github|123/a.txt", "/hypha-workspaces/ws-user-github%7C123/a.txt")]
    [InlineData("ws-a/a+b.txt", "/hypha-workspaces/ws-a/a%2Bb.txt")]
    [InlineData("ws-a/100%.txt", "/hypha-workspaces/ws-a/100%25.txt")]
    [InlineData("ws-a/日本語/é.txt", "/hypha-workspaces/ws-a/%E6%97%A5%E6%9C%AC%E8%AA%9E/%C3%A9.txt")]
    [InlineData("ws-a/q?x=1#frag", "/hypha-workspaces/ws-a/q%3Fx%3D1%23frag")]
    public void Keys_are_escaped_once_with_slashes_kept(string key, string expectedPath)
    {
        var url = factory.Create(Location, WorkspaceKey).Presign(HttpMethod.Put, key, TimeSpan.FromMinutes(5));

        Assert.StartsWith("https://s3.example.org" + expectedPath + "?", url, StringComparison.Ordinal);
    }

    [Fact]
    public void A_public_endpoint_with_a_path_prefix_keeps_it_in_the_signed_path()
    {
        var behindProxy = Location with { PublicEndpoint = new Uri("https://hypha.example.org/s3/") };

        var url = factory.Create(behindProxy, WorkspaceKey).Presign(HttpMethod.Get, "ws-a/x", TimeSpan.FromMinutes(5));

        Assert.StartsWith("https://hypha.example.org/s3/hypha-workspaces/ws-a/x?", url, StringComparison.Ordinal);
    }

    [Fact]
    public void Upload_part_urls_sign_part_number_and_upload_id()
    {
        var url = factory.Create(Location, WorkspaceKey).PresignUploadPart("ws-a/big.bin", "2~abc+def/==", 7, TimeSpan.FromHours(1));

        var query = HttpRequestSigning.ParseQuery(new Uri(url).Query).ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("7", query["partNumber"]);
        Assert.Equal("2~abc+def/==", query["uploadId"]);
        Assert.Contains("uploadId=2~abc%2Bdef%2F%3D%3D", url, StringComparison.Ordinal);
    }

    [Fact]
    public void Urls_for_different_keys_or_methods_differ_in_signature()
    {
        var client = factory.Create(Location, WorkspaceKey);
        var time = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using var fixedClock = new S3ClientFactory(time: new FakeTimeProvider(time));
        var fixedClient = fixedClock.Create(Location, WorkspaceKey);

        var get = Signature(fixedClient.Presign(HttpMethod.Get, "ws-a/x", TimeSpan.FromHours(1)));
        Assert.Equal(get, Signature(fixedClient.Presign(HttpMethod.Get, "ws-a/x", TimeSpan.FromHours(1))));
        Assert.NotEqual(get, Signature(fixedClient.Presign(HttpMethod.Put, "ws-a/x", TimeSpan.FromHours(1))));
        Assert.NotEqual(get, Signature(fixedClient.Presign(HttpMethod.Get, "ws-a/y", TimeSpan.FromHours(1))));
        Assert.NotEqual(get, Signature(fixedClock.Create(Location, WorkspaceKey with { SecretAccessKey = "other" })
            .Presign(HttpMethod.Get, "ws-a/x", TimeSpan.FromHours(1))));
        Assert.NotNull(client);

        static string Signature(string url) => url[(url.LastIndexOf('=') + 1)..];
    }

    [Theory]
    [InlineData(0)]
    [InlineData(0.5)]
    [InlineData(604801)]
    public void Expiry_outside_one_second_to_seven_days_is_refused(double seconds)
    {
        var ex = Assert.Throws<BackendValidationException>(() =>
            factory.Create(Location, WorkspaceKey).Presign(HttpMethod.Get, "ws-a/x", TimeSpan.FromSeconds(seconds)));
        Assert.Equal("expiry", ex.Field);
    }

    [Fact]
    public void Empty_and_oversized_keys_are_refused_before_any_call()
    {
        var client = factory.Create(Location, WorkspaceKey);

        Assert.Equal("key", Assert.Throws<BackendValidationException>(() => client.Presign(HttpMethod.Get, "", TimeSpan.FromHours(1))).Field);
        Assert.Equal("key", Assert.Throws<BackendValidationException>(() =>
            client.Presign(HttpMethod.Get, new string('é', 513), TimeSpan.FromHours(1))).Field); // 1026 UTF-8 bytes
        client.Presign(HttpMethod.Get, new string('a', 1024), TimeSpan.FromHours(1));
    }

    [Fact]
    public void Virtual_hosted_style_is_refused_rather_than_silently_signed_wrong()
    {
        Assert.Throws<BackendValidationException>(() => factory.Create(Location with { PathStyle = false }, WorkspaceKey));
    }

    [Fact]
    public void Session_token_goes_into_the_url_when_the_key_is_temporary()
    {
        var url = factory.Create(Location, WorkspaceKey with { SessionToken = "tok/en+" }).Presign(HttpMethod.Get, "ws-a/x", TimeSpan.FromMinutes(5));

        Assert.Contains("X-Amz-Security-Token=tok%2Fen%2B", url, StringComparison.Ordinal);
    }
}
