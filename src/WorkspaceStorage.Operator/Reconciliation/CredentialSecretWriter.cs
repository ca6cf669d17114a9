using k8s.Models;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>
/// Writes a WorkspaceStorage's credential Secret: the key in every key set, and the key state as annotations, in one
/// write. Reads before it writes: a Secret that already says the same is left alone.
/// </summary>
public sealed class CredentialSecretWriter(IResourceClient<V1Secret> secrets)
{
    public Task<V1Secret?> GetAsync(WorkspaceStorageResource owner, string name, CancellationToken cancellationToken) =>
        secrets.GetAsync(new ResourceKey(owner.Metadata.NamespaceProperty, name), cancellationToken);

    /// <summary>Deletes the Secret when <paramref name="owner"/> owns it (a Secret the user made is never touched).</summary>
    public async Task DeleteOwnedAsync(WorkspaceStorageResource owner, string name, CancellationToken cancellationToken)
    {
        var key = new ResourceKey(owner.Metadata.NamespaceProperty, name);
        var secret = await secrets.GetAsync(key, cancellationToken);
        if (secret is not null && IsOwnedBy(secret, owner))
        {
            await secrets.DeleteAsync(key, cancellationToken);
        }
    }

    public static bool IsOwnedBy(V1Secret secret, WorkspaceStorageResource owner) =>
        secret.Metadata.OwnerReferences?.Any(r => r.Uid == owner.Metadata.Uid && r.Controller == true) == true;

    /// <summary>The name of the WorkspaceStorage (of the Secret's namespace) that controls <paramref name="secret"/>, or null.</summary>
    public static string? OwnerOf(V1Secret secret) =>
        secret.Metadata.OwnerReferences?.FirstOrDefault(r => r.Controller == true && r.Kind == ApiGroup.WorkspaceStorageKind)?.Name;

    /// <param name="existing">The Secret as read (owned by <paramref name="owner"/>), or null to create it.</param>
    public async Task<V1Secret> WriteAsync(WorkspaceStorageResource owner, ValidatedWorkspaceStorage spec, S3Location location, V1Secret? existing,
        AwsCredentials key, KeyState state, CancellationToken cancellationToken)
    {
        var data = CredentialSecretLayout.Build(new CredentialSecretContent(location.PublicEndpoint.ToString(), location.Region, location.Bucket,
            spec.Workspace, key, spec.KeySets, location.PathStyle ? AddressingStyle.Path : AddressingStyle.Virtual));
        var annotations = CredentialSecretAnnotations.For(data, spec.Workspace.Value, state);
        var labels = ResourceMetadata.SecretLabels(owner.Metadata.Name);

        if (existing is null)
        {
            var created = new V1Secret
            {
                Metadata = new V1ObjectMeta
                {
                    Name = spec.SecretName,
                    NamespaceProperty = owner.Metadata.NamespaceProperty,
                    Labels = new Dictionary<string, string>(labels),
                    Annotations = annotations,
                    OwnerReferences =
                    [
                        new V1OwnerReference
                        {
                            ApiVersion = owner.ApiVersion, Kind = owner.Kind, Name = owner.Metadata.Name, Uid = owner.Metadata.Uid, BlockOwnerDeletion = true,
                            Controller = true,
                        },
                    ],
                },
                Type = "Opaque",
                Data = new Dictionary<string, byte[]>(data, StringComparer.Ordinal),
            };
            return await secrets.CreateAsync(created, cancellationToken);
        }

        var currentAnnotations = existing.Metadata.Annotations ?? new Dictionary<string, string>();
        var sameAnnotations = CredentialSecretAnnotations.Owned.All(name =>
            currentAnnotations.TryGetValue(name, out var have) ? annotations.TryGetValue(name, out var want) && want == have : !annotations.ContainsKey(name));
        var sameLabels = labels.All(label => existing.Metadata.Labels?.TryGetValue(label.Key, out var have) == true && have == label.Value);
        if (CredentialSecretLayout.SameContent(existing.Data, data) && sameAnnotations && sameLabels && existing.Type == "Opaque")
        {
            return existing;
        }

        var updated = ResourceCopy.Clone(existing);
        updated.Data = new Dictionary<string, byte[]>(data, StringComparer.Ordinal);
        updated.StringData = null;
        updated.Type = "Opaque";
        updated.Metadata.Annotations ??= new Dictionary<string, string>();
        foreach (var name in CredentialSecretAnnotations.Owned)
        {
            updated.Metadata.Annotations.Remove(name);
        }

        foreach (var (name, value) in annotations)
        {
            updated.Metadata.Annotations[name] = value;
        }

        updated.Metadata.Labels ??= new Dictionary<string, string>();
        foreach (var (name, value) in labels)
        {
            updated.Metadata.Labels[name] = value;
        }

        return await secrets.ReplaceAsync(updated, cancellationToken);
    }
}
