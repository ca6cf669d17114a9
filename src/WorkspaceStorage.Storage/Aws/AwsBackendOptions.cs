using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Resilience;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.Aws;

/// <summary>How to reach AWS (or a server speaking AWS's IAM and STS query APIs, such as moto) and act as the operator.</summary>
/// <param name="Location">The S3 endpoint, region and shared bucket.</param>
/// <param name="Admin">The operator's own IAM credentials (README: the least-privilege policy they need).</param>
public sealed record AwsBackendOptions(S3Location Location, AwsCredentials Admin)
{
    /// <summary>Path of every IAM user and role the operator makes, so its least-privilege policy can name only them.</summary>
    public const string IamPath = "/hypha-workspaces/";

    /// <summary>IAM endpoint; null derives it from the S3 endpoint (<see cref="AwsEndpoints"/>).</summary>
    public Uri? IamEndpoint { get; init; }

    /// <summary>STS endpoint; null derives it from the S3 endpoint (<see cref="AwsEndpoints"/>).</summary>
    public Uri? StsEndpoint { get; init; }

    /// <summary>Longest session a workspace role allows (AWS: 1 h to 12 h). Sessions asked for longer are shortened to it.</summary>
    public TimeSpan MaxSessionDuration { get; init; } = TemporaryCredentialLimits.Maximum;

    /// <summary>
    /// How long a new access key may be refused (IAM is eventually consistent: a key can be unknown to STS and S3 for
    /// seconds after CreateAccessKey returns). Past it the key is handed out anyway, with a warning: it starts working.
    /// </summary>
    public TimeSpan KeyPropagationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Waits between checks of a new key.</summary>
    public ExponentialBackoff KeyPropagationBackoff { get; init; } = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(4), jitter: 0.5);

    public RetryOptions Retry { get; init; } = new();

    public override string ToString() => $"AwsBackendOptions {{ Endpoint = {Location.Endpoint}, Bucket = {Location.Bucket}, Admin = {Admin.AccessKeyId} }}";
}

/// <summary>Where IAM and STS answer, and the region their signatures name.</summary>
public sealed record AwsEndpoints(Uri Iam, string IamRegion, Uri Sts, string StsRegion)
{
    /// <summary>
    /// On AWS (an S3 endpoint under amazonaws.com) IAM is global (iam.amazonaws.com, signed for us-east-1) and STS
    /// regional (sts.REGION.amazonaws.com). Anything else (moto, an IAM-speaking server) serves all three on the S3 endpoint.
    /// </summary>
    public static AwsEndpoints For(AwsBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var s3 = options.Location.Endpoint;
        var region = options.Location.Region;
        var onAws = s3.Host.EndsWith(".amazonaws.com", StringComparison.OrdinalIgnoreCase);
        var iam = options.IamEndpoint ?? (onAws ? new Uri("https://iam.amazonaws.com") : s3);
        var sts = options.StsEndpoint ?? (onAws ? new Uri($"https://sts.{region}.amazonaws.com") : s3);
        return new AwsEndpoints(iam, onAws || iam.Host.Equals("iam.amazonaws.com", StringComparison.OrdinalIgnoreCase) ? "us-east-1" : region, sts, region);
    }
}
