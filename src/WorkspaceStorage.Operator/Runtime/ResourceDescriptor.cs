namespace WorkspaceStorage.Operator.Runtime;

/// <summary>
/// Where a resource type lives in the API: group ("" for the core group), version, plural, kind and scope.
/// </summary>
public sealed record ResourceDescriptor(string Group, string Version, string Plural, string Kind, bool Namespaced)
{
    /// <summary>core/v1 Secrets.</summary>
    public static ResourceDescriptor Secrets { get; } = new("", "v1", "secrets", "Secret", Namespaced: true);

    /// <summary>core/v1 ConfigMaps.</summary>
    public static ResourceDescriptor ConfigMaps { get; } = new("", "v1", "configmaps", "ConfigMap", Namespaced: true);

    /// <summary>"group/version", or "version" for the core group: the value of an object's apiVersion.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";
}
