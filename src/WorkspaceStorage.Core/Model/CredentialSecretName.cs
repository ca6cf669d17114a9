namespace WorkspaceStorage.Core.Model;

/// <summary>
/// Which Secret holds a WorkspaceStorage's key. The operator writes it and the companion API reads it: one rule, so
/// both name the same Secret (docs/deploy.md: <c>spec.secret.name</c>, else <c>&lt;metadata.name&gt;-s3</c>).
/// The Secret in use once the operator wrote one is <c>status.secretName</c> (WorkspaceStorage.Resources' <c>SecretName()</c>).
/// </summary>
public static class CredentialSecretName
{
    public const string DefaultSuffix = "-s3";

    /// <summary>The Secret the spec asks for: <c>spec.secret.name</c>, else <c>&lt;metadata.name&gt;-s3</c>.</summary>
    public static string Requested(string? name, WorkspaceStorageSpec? spec) => spec?.Secret?.Name ?? name + DefaultSuffix;
}
