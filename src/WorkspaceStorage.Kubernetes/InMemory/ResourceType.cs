namespace WorkspaceStorage.Kubernetes.InMemory;

/// <summary>
/// One kind of object the in-memory API server serves. The flags mirror what the real API server does per type,
/// because operators depend on those differences (e.g. custom resources refuse unconditional updates).
/// </summary>
/// <param name="Group">API group; empty for the core group (served under /api/v1).</param>
/// <param name="Version">API version, e.g. "v1" or "v1alpha1".</param>
/// <param name="Plural">Resource name in URLs, e.g. "secrets".</param>
/// <param name="Kind">Kind written into objects, e.g. "Secret"; lists are "{Kind}List".</param>
/// <param name="Namespaced">False for cluster-scoped resources.</param>
/// <param name="HasStatusSubresource">True: PUT/PATCH on the object ignore .status, /status changes only .status.</param>
/// <param name="TracksGeneration">True: metadata.generation starts at 1 and grows when anything but metadata/status changes.</param>
/// <param name="AllowUnconditionalUpdate">False: a PUT without metadata.resourceVersion is rejected (custom resources).</param>
/// <param name="ReturnsDeletedObject">True: DELETE answers with the object (custom resources); false: with a Status.</param>
public sealed record ResourceType(
    string Group,
    string Version,
    string Plural,
    string Kind,
    bool Namespaced,
    bool HasStatusSubresource,
    bool TracksGeneration,
    bool AllowUnconditionalUpdate,
    bool ReturnsDeletedObject)
{
    /// <summary>"v1" for the core group, otherwise "group/version".</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>A built-in type of the core or a named group (unconditional updates allowed, DELETE returns a Status).</summary>
    public static ResourceType BuiltIn(string group, string version, string plural, string kind, bool namespaced,
        bool hasStatusSubresource = false, bool tracksGeneration = false) =>
        new(group, version, plural, kind, namespaced, hasStatusSubresource, tracksGeneration,
            AllowUnconditionalUpdate: true, ReturnsDeletedObject: false);

    /// <summary>A custom resource as a CRD defines it: generation tracked, resourceVersion required on PUT.</summary>
    public static ResourceType Custom(string group, string version, string plural, string kind, bool namespaced,
        bool hasStatusSubresource = true) =>
        new(group, version, plural, kind, namespaced, hasStatusSubresource, TracksGeneration: true,
            AllowUnconditionalUpdate: false, ReturnsDeletedObject: true);

    /// <summary>The type for a runtime descriptor: core and *.k8s.io groups are built in, anything else a custom resource with a status subresource.</summary>
    public static ResourceType For(Runtime.ResourceDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        return descriptor.Group.Length == 0 || descriptor.Group.EndsWith(".k8s.io", StringComparison.Ordinal)
            ? BuiltIn(descriptor.Group, descriptor.Version, descriptor.Plural, descriptor.Kind, descriptor.Namespaced)
            : Custom(descriptor.Group, descriptor.Version, descriptor.Plural, descriptor.Kind, descriptor.Namespaced);
    }

    public override string ToString() => Group.Length == 0 ? Plural : $"{Plural}.{Group}";
}
