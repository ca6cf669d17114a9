using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Core.Tests.Signing;

/// <summary>Vectors published by AWS: the SigV4 test suite and the S3 signing examples.</summary>
public sealed class SigV4SignerTests
{
    private static readonly AwsCredentials SuiteKey = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    private static readonly DateTimeOffset SuiteTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);
    private static readonly AwsCredentials S3DocKey = new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    private static readonly DateTimeOffset S3DocTime = new(2013, 5, 24, 0, 0, 0, TimeSpan.Zero);
    private static readonly SigV4Scope S3Scope = new("us-east-1", "s3");

    private readonly SigV4Signer signer = new();

    [Fact]
    public void Suite_get_vanilla()
    {
        var request = new SigV4Request("GET", "example.amazonaws.com", "/", [],
            [new("Host", "example.amazonaws.com"), new("X-Amz-Date", "20150830T123600Z")], SigV4Signer.EmptyPayloadHash);

        var authorization = signer.ComputeAuthorization(request, SuiteKey, new("us-east-1", "service"), SuiteTime);

        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, " +
                     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", authorization);
    }

    [Fact]
    public void Suite_get_vanilla_query_order_key_case_sorts_parameters()
    {
        var request = new SigV4Request("GET", "example.amazonaws.com", "/", [new("Param2", "value2"), new("Param1", "value1")],
            [new("Host", "example.amazonaws.com"), new("X-Amz-Date", "20150830T123600Z")], SigV4Signer.EmptyPayloadHash);

        var authorization = signer.ComputeAuthorization(request, SuiteKey, new("us-east-1", "service"), SuiteTime);

        Assert.EndsWith("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", authorization);
    }

    [Fact]
    public void S3_get_object_with_range()
    {
        var request = new SigV4Request("GET", "examplebucket.s3.amazonaws.com", "/test.txt", [],
            [
                new("Host", "examplebucket.s3.amazonaws.com"), new("Range", "bytes=0-9"),
                new("x-amz-content-sha256", SigV4Signer.EmptyPayloadHash), new("x-amz-date", "20130524T000000Z"),
            ], SigV4Signer.EmptyPayloadHash);

        var authorization = signer.ComputeAuthorization(request, S3DocKey, S3Scope, S3DocTime);

        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
                     "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
                     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", authorization);
    }

    [Fact]
    public void S3_put_object_escapes_the_dollar_in_the_key()
    {
        const string payloadHash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"; // "Welcome to Amazon S3."
        var request = new SigV4Request("PUT", "examplebucket.s3.amazonaws.com", "/" + AwsUriEncoding.Escape("test$file.text", keepSlash: true), [],
            [
                new("Host", "examplebucket.s3.amazonaws.com"), new("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                new("x-amz-date", "20130524T000000Z"), new("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                new("x-amz-content-sha256", payloadHash),
            ], payloadHash);

        var authorization = signer.ComputeAuthorization(request, S3DocKey, S3Scope, S3DocTime);

        Assert.EndsWith("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, " +
                        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd", authorization);
    }

    [Fact]
    public void S3_get_bucket_lifecycle_signs_a_bare_query_key()
    {
        var request = new SigV4Request("GET", "examplebucket.s3.amazonaws.com", "/", [new("lifecycle", "")],
            [
                new("Host", "examplebucket.s3.amazonaws.com"), new("x-amz-date", "20130524T000000Z"),
                new("x-amz-content-sha256", SigV4Signer.EmptyPayloadHash),
            ], SigV4Signer.EmptyPayloadHash);

        Assert.EndsWith("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
            signer.ComputeAuthorization(request, S3DocKey, S3Scope, S3DocTime));
    }

    [Fact]
    public void S3_list_objects()
    {
        var request = new SigV4Request("GET", "examplebucket.s3.amazonaws.com", "/", [new("max-keys", "2"), new("prefix", "J")],
            [
                new("Host", "examplebucket.s3.amazonaws.com"), new("x-amz-date", "20130524T000000Z"),
                new("x-amz-content-sha256", SigV4Signer.EmptyPayloadHash),
            ], SigV4Signer.EmptyPayloadHash);

        Assert.EndsWith("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
            signer.ComputeAuthorization(request, S3DocKey, S3Scope, S3DocTime));
    }

    [Fact]
    public void S3_presigned_get()
    {
        var url = signer.Presign("GET", "https://examplebucket.s3.amazonaws.com", "examplebucket.s3.amazonaws.com", "/test.txt",
            S3DocKey, S3Scope, S3DocTime, TimeSpan.FromSeconds(86400));

        Assert.Equal("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
                     "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z" +
                     "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
                     "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", url);
    }

    [Fact]
    public void Presign_refuses_expiry_beyond_seven_days()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => signer.Presign("GET", "https://h", "h", "/b/k", S3DocKey, S3Scope, S3DocTime, TimeSpan.FromDays(8)));
    }

    [Fact]
    public void Cached_signing_key_gives_the_same_signature_as_a_fresh_signer()
    {
        var first = signer.Presign("GET", "https://h", "h", "/b/k", S3DocKey, S3Scope, S3DocTime, TimeSpan.FromHours(1));
        var second = signer.Presign("GET", "https://h", "h", "/b/k", S3DocKey, S3Scope, S3DocTime, TimeSpan.FromHours(1));
        var otherKey = signer.Presign("GET", "https://h", "h", "/b/k", S3DocKey with { SecretAccessKey = "another-secret" }, S3Scope, S3DocTime, TimeSpan.FromHours(1));

        Assert.Equal(new SigV4Signer().Presign("GET", "https://h", "h", "/b/k", S3DocKey, S3Scope, S3DocTime, TimeSpan.FromHours(1)), first);
        Assert.Equal(first, second);
        Assert.NotEqual(first, otherKey);
    }

    [Fact]
    public void Credentials_never_print_their_secret()
    {
        var text = new AwsCredentials("AK", "super-secret-value", "token-value").ToString();
        Assert.DoesNotContain("super-secret-value", text, StringComparison.Ordinal);
        Assert.DoesNotContain("token-value", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a b", "a%20b")]
    [InlineData("a+b", "a%2Bb")]
    [InlineData("ws-user-github|12345", "ws-user-github%7C12345")]
    [InlineData("é", "%C3%A9")]
    [InlineData("A-Z_a.z~0", "A-Z_a.z~0")]
    public void Escape_follows_rfc3986(string raw, string escaped) => Assert.Equal(escaped, AwsUriEncoding.Escape(raw));
}
