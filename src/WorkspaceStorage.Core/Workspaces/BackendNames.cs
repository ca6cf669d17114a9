namespace WorkspaceStorage.Core.Workspaces;

/// <summary>
/// Names of the things a backend creates for one workspace. Workspace ids may hold '|', which user,
/// policy and role names cannot, so ids are mapped one-to-one: '|' becomes '_' (a character ids never
/// contain), so <c>ws-a|b</c> and <c>ws-a-b</c> stay distinct. Every name starts with
/// <see cref="Prefix"/> (or <see cref="HashedPrefix"/>) so the operator's identities are recognisable on a shared server.
/// </summary>
public sealed record BackendNames
{
    public const string Prefix = "wso-";

    /// <summary>
    /// Prefix of names too long to map verbatim. It differs from <see cref="Prefix"/> so that no workspace id,
    /// however chosen, maps onto another id's shortened name.
    /// </summary>
    public const string HashedPrefix = "wsh-";

    /// <summary>96 bits of SHA-256: collisions between two chosen ids stay out of reach.</summary>
    private const int DigestHexChars = 24;

    private BackendNames(string identity) => Identity = identity;

    /// <summary>User (RGW uid, MinIO user and group) name.</summary>
    public string Identity { get; }

    /// <summary>Policy name (MinIO canned policy, RGW user policy, IAM role policy).</summary>
    public string Policy => Identity + "-policy";

    /// <summary>IAM role name used for STS AssumeRole.</summary>
    public string Role => Identity + "-role";

    /// <summary>
    /// Derives the names for <paramref name="workspace"/>. When the mapped name would exceed
    /// <paramref name="maxIdentityLength"/>, it becomes <see cref="HashedPrefix"/>, the start of the id,
    /// and a digest of the full id, which keeps it unique.
    /// </summary>
    public static BackendNames For(WorkspaceId workspace, int maxIdentityLength = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxIdentityLength, HashedPrefix.Length + DigestHexChars + 9);
        var mapped = workspace.Value.Replace('|', '_');
        if (Prefix.Length + mapped.Length + "-policy".Length <= maxIdentityLength)
        {
            return new BackendNames(Prefix + mapped);
        }

        var digest = workspace.Digest(DigestHexChars);
        var keep = maxIdentityLength - "-policy".Length - HashedPrefix.Length - DigestHexChars - 1;
        return new BackendNames(HashedPrefix + mapped[..keep] + "-" + digest);
    }
}
