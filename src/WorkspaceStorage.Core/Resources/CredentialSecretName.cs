namespace WorkspaceStorage.Core.Resources;

/// <summary>
/// Which Secret holds a WorkspaceStorage's key. The operator writes it and the companion API reads it: one rule, so
/// both name the same Secret (docs/deploy.md: <c>spec.secret.name</c>, else <c>&lt;metadata.name&gt;-s3</c>).
/// </summary>
public static class CredentialSecretName
{
    public const string DefaultSuffix = "-s3";

    /// <summary>The Secret the spec asks for: <c>spec.secret.name</c>, else <c>&lt;metadata.name&gt;-s3</c>.</summary>
    public static string Requested(WorkspaceStorageResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return resource.Spec?.Secret?.Name ?? resource.Metadata?.Name + DefaultSuffix;
    }

    /// <summary>The Secret in use: the one the operator wrote (<c>status.secretName</c>), else the one the spec asks for.</summary>
    public static string Of(WorkspaceStorageResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return resource.Status?.SecretName ?? Requested(resource);
    }
}
