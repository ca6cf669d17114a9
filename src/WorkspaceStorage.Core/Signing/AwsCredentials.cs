namespace WorkspaceStorage.Core.Signing;

/// <summary>An access key pair, optionally with an STS session token.</summary>
/// <remarks>ToString never prints the secret: records would otherwise leak it into logs.</remarks>
public sealed record AwsCredentials(string AccessKeyId, string SecretAccessKey, string? SessionToken = null)
{
    public override string ToString() => $"AwsCredentials {{ AccessKeyId = {AccessKeyId}, SecretAccessKey = ***, SessionToken = {(SessionToken is null ? "none" : "***")} }}";
}
