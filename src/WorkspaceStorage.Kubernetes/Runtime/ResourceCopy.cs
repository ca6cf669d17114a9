namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>Deep copies of Kubernetes objects, for changing an object read from a shared cache.</summary>
public static class ResourceCopy
{
    public static T Clone<T>(T resource)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(resource);
        return ResourceJson.Deserialize<T>(ResourceJson.Serialize(resource));
    }
}
