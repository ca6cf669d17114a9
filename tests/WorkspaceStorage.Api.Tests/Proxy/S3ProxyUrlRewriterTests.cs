using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Proxy;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Tests.Proxy;

public sealed class S3ProxyUrlRewriterTests
{
    private static readonly WorkspaceId Workspace = WorkspaceId.Parse("ws-user-github|42");

    private static readonly S3Location Location = new(
        new Uri("http://rgw.storage.svc:7480"), new Uri("https://s3.example.org"), "us-east-1", "hypha-workspaces");

    private static S3ProxyUrlRewriter Rewriter(bool enabled = true, string baseUrl = "https://hypha.example.org/", params S3Location[] locations) =>
        new(Options.Create(new ApiOptions { PublicBaseUrl = baseUrl, S3Proxy = { Enabled = enabled } }),
            new StaticS3ProxyTargets(locations.Length == 0 ? [Location] : locations));

    private static string Presign(string key, S3Location? location = null, IReadOnlyList<KeyValuePair<string, string>>? extra = null)
    {
        using var factory = new S3ClientFactory();
        return factory.Create(location ?? Location, new AwsCredentials("AKIAEXAMPLE", "secret-example-key"))
            .Presign(HttpMethod.Get, key, TimeSpan.FromMinutes(5), extra);
    }

    [Theory]
    [InlineData("ws-user-github|42/plain.txt")]
    [InlineData("ws-user-github|42/with space/and+plus.txt")]
    [InlineData("ws-user-github|42/ünïcødé/日本語.bin")]
    [InlineData("ws-user-github|42/literal%2Fescape/a%20b")]
    public void PublicUrlBecomesTheProxyUrlWithPathAndQueryCopiedVerbatim(string key)
    {
        var url = Presign(key, extra: [new("response-content-disposition", "attachment; filename=\"a b.txt\"")]);
        var rewritten = Rewriter().Rewrite(Workspace, url);

        var pathAndQuery = url["https://s3.example.org".Length..];
        Assert.Equal("https://hypha.example.org/s3" + pathAndQuery, rewritten);
    }

    [Fact]
    public void QueryStringAppearsExactlyOnce()
    {
        var url = Presign("ws-user-github|42/a.txt");
        var rewritten = Rewriter().Rewrite(Workspace, url);

        var query = url[url.IndexOf('?', StringComparison.Ordinal)..];
        Assert.EndsWith(query, rewritten, StringComparison.Ordinal);
        Assert.Single(rewritten.Split('?').Skip(1));
        Assert.Equal(1, CountOf(rewritten, "X-Amz-Signature="));
        Assert.Equal(1, CountOf(rewritten, "X-Amz-Credential="));
    }

    [Fact]
    public void DisabledProxyLeavesUrlsAlone()
    {
        var url = Presign("ws-user-github|42/a.txt");
        Assert.Same(url, Rewriter(enabled: false).Rewrite(Workspace, url));
    }

    [Theory]
    [InlineData("http://rgw.storage.svc:7480/hypha-workspaces/ws-a/x?X-Amz-Signature=1")] // internal endpoint, not public
    [InlineData("https://s3.example.org/other-bucket/ws-a/x?X-Amz-Signature=1")]          // bucket the proxy does not serve
    [InlineData("https://evil.example.org/hypha-workspaces/ws-a/x?X-Amz-Signature=1")]    // another host
    [InlineData("http://s3.example.org/hypha-workspaces/ws-a/x?X-Amz-Signature=1")]       // another scheme
    [InlineData("https://s3.example.org:8443/hypha-workspaces/ws-a/x?X-Amz-Signature=1")] // another port
    [InlineData("not a url")]
    [InlineData("https://s3.example.org")]
    public void UrlsNotOnAServedPublicBucketAreNotRewritten(string url) =>
        Assert.Equal(url, Rewriter().Rewrite(Workspace, url));

    [Fact]
    public void ApiBaseUrlWithAPathKeepsIt()
    {
        var url = Presign("ws-user-github|42/a.txt");
        var rewritten = Rewriter(baseUrl: "https://hypha.example.org/storage-api").Rewrite(Workspace, url);
        Assert.StartsWith("https://hypha.example.org/storage-api/s3/hypha-workspaces/ws-user-github%7C42/a.txt?", rewritten, StringComparison.Ordinal);
    }

    [Fact]
    public void EndpointPathPrefixIsDroppedWhenInternalAndPublicAgree()
    {
        var location = new S3Location(new Uri("http://gw.internal/objects"), new Uri("https://gw.example.org/objects"), "us-east-1", "bkt");
        var url = Presign("ws-a/x.txt", location);
        Assert.StartsWith("https://gw.example.org/objects/bkt/ws-a/x.txt?", url, StringComparison.Ordinal);

        var rewritten = Rewriter(locations: location).Rewrite(Workspace, url);
        Assert.StartsWith("https://hypha.example.org/s3/bkt/ws-a/x.txt?", rewritten, StringComparison.Ordinal);
    }

    [Fact]
    public void UrlIsLeftAloneWhenTheSignatureCouldNotSurviveTheInternalPath()
    {
        // Signed for /public-prefix/bkt/...; the proxy would deliver /bkt/... to S3 and break the signature.
        var location = new S3Location(new Uri("http://gw.internal"), new Uri("https://gw.example.org/public-prefix"), "us-east-1", "bkt");
        var url = Presign("ws-a/x.txt", location);
        Assert.Equal(url, Rewriter(locations: location).Rewrite(Workspace, url));
    }

    [Fact]
    public void MultipartPartUrlKeepsPartNumberAndUploadId()
    {
        using var factory = new S3ClientFactory();
        var url = factory.Create(Location, new AwsCredentials("AKIAEXAMPLE", "secret-example-key"))
            .PresignUploadPart("ws-a/big.bin", "2~abc+/=def", 3, TimeSpan.FromMinutes(5));
        var rewritten = Rewriter().Rewrite(Workspace, url);
        Assert.Equal("https://hypha.example.org/s3" + url["https://s3.example.org".Length..], rewritten);
        Assert.Contains("partNumber=3", rewritten, StringComparison.Ordinal);
        Assert.Contains("uploadId=2~abc%2B%2F%3Ddef", rewritten, StringComparison.Ordinal);
    }

    [Fact]
    public void SameBucketNameOnTwoEndpointsIsRefused()
    {
        var other = Location with { Endpoint = new Uri("http://other:7480") };
        Assert.Throws<ArgumentException>(() => new StaticS3ProxyTargets([Location, other]));
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

public sealed class S3ProxyOptionsTests
{
    [Theory]
    [InlineData("Api:S3Proxy:ResponseHeadersTimeout", "00:00:00")]
    [InlineData("Api:S3Proxy:ConnectTimeout", "-00:00:01")]
    [InlineData("Api:S3Proxy:PooledConnectionLifetime", "02:00:00")]
    public async Task BadProxyTimeoutStopsStartUp(string key, string value)
    {
        await using var app = Host.TestApi.Build(Testing.Hypha.HyphaTokenFactory.NewSecret(), settings: new Dictionary<string, string?>
        {
            ["Api:S3Proxy:Enabled"] = "true",
            [key] = value,
        });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }
}
