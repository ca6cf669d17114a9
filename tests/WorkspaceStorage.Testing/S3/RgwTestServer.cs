using Amazon.Runtime;
using Amazon.S3;
using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Testing.S3;

/// <summary>
/// The local Ceph RGW started by <c>scripts/s3-test-server.sh up</c>, as its <c>env</c> command describes it.
/// Tests that need a real S3 server call <see cref="Require"/>: without the server they are reported as skipped,
/// with the reason, and under <c>make test</c> (WSO_TEST_S3_REQUIRED=1) its absence fails the test instead.
/// </summary>
public sealed record RgwTestServer(Uri Endpoint, string Region, AwsCredentials Admin)
{
    public const string StartHint = "start it with: scripts/s3-test-server.sh up && eval \"$(scripts/s3-test-server.sh env)\"";

    public static RgwTestServer Require()
    {
        var endpoint = Environment.GetEnvironmentVariable("WSO_TEST_S3_ENDPOINT");
        var accessKey = Environment.GetEnvironmentVariable("WSO_TEST_S3_ADMIN_ACCESS_KEY");
        var secretKey = Environment.GetEnvironmentVariable("WSO_TEST_S3_ADMIN_SECRET_KEY");
        var region = Environment.GetEnvironmentVariable("WSO_TEST_S3_REGION") ?? "us-east-1";
        if (string.IsNullOrEmpty(endpoint) || string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey))
        {
            Unavailable("the local Ceph RGW is not configured (WSO_TEST_S3_* unset)");
        }

        var server = new RgwTestServer(new Uri(endpoint!), region, new AwsCredentials(accessKey!, secretKey!));
        if (!server.Answers())
        {
            Unavailable($"the local Ceph RGW does not answer at {endpoint}");
        }

        return server;
    }

    /// <summary>A bucket name no other test uses (S3 rules: lower case, 3–63 characters).</summary>
    public static string UniqueBucketName(string purpose) =>
        $"t-{purpose.ToLowerInvariant()}-{Guid.NewGuid():N}"[..Math.Min(63, purpose.Length + 35)];

    /// <summary>
    /// An AWS SDK client for RGW: path style, no aws-chunked checksum trailers (RGW Pacific refuses them), and connections
    /// of its own (no SDK-wide HttpClient cache): RGW answers a refused PUT with 403 before reading the body, and the
    /// unread body poisons the kept-alive connection, so the next request on it would get 400 instead of its own answer.
    /// The one RGW client of the tests.
    /// </summary>
    public AmazonS3Client CreateAwsS3Client(AwsCredentials credentials)
    {
        AWSCredentials sdkCredentials = credentials.SessionToken is null
            ? new BasicAWSCredentials(credentials.AccessKeyId, credentials.SecretAccessKey)
            : new SessionAWSCredentials(credentials.AccessKeyId, credentials.SecretAccessKey, credentials.SessionToken);
        return new AmazonS3Client(sdkCredentials, new AmazonS3Config
        {
            ServiceURL = Endpoint.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = Region,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 0,
            CacheHttpClient = false,
            Timeout = TimeSpan.FromSeconds(30),
        });
    }

    private bool Answers()
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
            using var response = http.GetAsync(Endpoint).GetAwaiter().GetResult();
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>Skips the test with <paramref name="why"/> and how to get the RGW; under <c>make test</c> (WSO_TEST_S3_REQUIRED=1) fails it instead.</summary>
    public static void Unavailable(string why)
    {
        if (Environment.GetEnvironmentVariable("WSO_TEST_S3_REQUIRED") == "1")
        {
            throw new InvalidOperationException($"{why}; make test requires it ({StartHint})");
        }

        Assert.Skip($"{why}; {StartHint}");
    }
}
