namespace WorkspaceStorage.Core.Credentials;

/// <summary>
/// How long temporary credentials may live, on every backend: STS (AWS, Ceph RGW) and MinIO's AssumeRole both refuse
/// less than 15 minutes, and a role session lasts at most 12 hours. One place, so the companion's limits, the
/// backends' checks and the function table's documented range cannot drift apart.
/// </summary>
public static class TemporaryCredentialLimits
{
    public static readonly TimeSpan Minimum = TimeSpan.FromSeconds(900);

    public static readonly TimeSpan Maximum = TimeSpan.FromHours(12);

    public static int MinimumSeconds => (int)Minimum.TotalSeconds;
}
