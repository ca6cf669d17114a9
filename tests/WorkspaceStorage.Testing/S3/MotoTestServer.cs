using Amazon.S3;
using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Testing.S3;

/// <summary>
/// moto, the AWS emulator (IAM, STS and S3 on one endpoint, IAM authorization on), started by
/// <c>scripts/moto-test-server.sh up</c> and described by its <c>env</c> command. Tests that need it call
/// <see cref="Require"/>: without it they are skipped with the reason, and under <c>make test</c>
/// (WSO_TEST_MOTO_REQUIRED=1) or on CI (CI=true) its absence fails them instead, as RGW's does.
/// </summary>
public sealed record MotoTestServer(Uri Endpoint, string Region, AwsCredentials Admin)
{
    public const string RequiredVariable = "WSO_TEST_MOTO_REQUIRED";

    public const string StartHint =
        "install and start it with: scripts/install-moto.sh && scripts/moto-test-server.sh up && eval \"$(scripts/moto-test-server.sh env)\"";

    public static MotoTestServer Require()
    {
        var endpoint = Environment.GetEnvironmentVariable("WSO_TEST_MOTO_ENDPOINT");
        var accessKey = Environment.GetEnvironmentVariable("WSO_TEST_MOTO_ADMIN_ACCESS_KEY");
        var secretKey = Environment.GetEnvironmentVariable("WSO_TEST_MOTO_ADMIN_SECRET_KEY");
        var region = Environment.GetEnvironmentVariable("WSO_TEST_MOTO_REGION") ?? "us-east-1";
        if (string.IsNullOrEmpty(endpoint) || string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey))
        {
            Unavailable("moto is not configured (WSO_TEST_MOTO_* unset)");
        }

        var server = new MotoTestServer(new Uri(endpoint!), region, new AwsCredentials(accessKey!, secretKey!));
        if (!server.Answers())
        {
            Unavailable($"moto does not answer at {endpoint}");
        }

        return server;
    }

    /// <summary>An AWS SDK S3 client for moto, built as the RGW tests build theirs (path style, no checksum trailers, own connections).</summary>
    public AmazonS3Client CreateAwsS3Client(AwsCredentials credentials) => new RgwTestServer(Endpoint, Region, Admin).CreateAwsS3Client(credentials);

    /// <summary>Skips with <paramref name="why"/> and how to get moto; under make test or CI fails instead.</summary>
    public static void Unavailable(string why)
    {
        if (Environment.GetEnvironmentVariable(RequiredVariable) == "1" || Environment.GetEnvironmentVariable("CI") == "true")
        {
            throw new InvalidOperationException($"{why}; make test requires it ({StartHint})");
        }

        Assert.Skip($"{why}; {StartHint}");
    }

    private bool Answers()
    {
        try
        {
            // moto's own dashboard API: it spends none of the unauthenticated calls INITIAL_NO_AUTH_ACTION_COUNT allows.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
            using var response = http.GetAsync(new Uri(Endpoint, "/moto-api/data.json")).GetAwaiter().GetResult();
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
