using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.CephRgw;

/// <summary>How to reach one Ceph RGW and act as its admin.</summary>
/// <param name="Location">The S3 endpoint (also serving Admin Ops, IAM and STS), region and shared bucket.</param>
/// <param name="Admin">An RGW user with caps <c>users=*;roles=*;user-policy=*</c> (plus <c>buckets=*</c> for bucket chores).</param>
public sealed record CephRgwBackendOptions(S3Location Location, AwsCredentials Admin)
{
    /// <summary>Longest STS session the per-workspace role allows (RGW's ceiling is 12 h, its default 1 h).</summary>
    public TimeSpan MaxSessionDuration { get; init; } = TemporaryCredentialLimits.Maximum;

    public RetryOptions Retry { get; init; } = new();

    public override string ToString() => $"CephRgwBackendOptions {{ Endpoint = {Location.Endpoint}, Bucket = {Location.Bucket}, Admin = {Admin.AccessKeyId} }}";
}
