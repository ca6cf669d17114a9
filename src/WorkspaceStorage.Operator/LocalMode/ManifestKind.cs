using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Kubernetes.InMemory;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Operator.LocalMode;

/// <summary>A manifest object made ready for the store: its key, and the error that keeps it out.</summary>
internal sealed record Normalized(ResourceKey Key, JsonObject Object, string? Error);

/// <summary>A kind the local mode reads from manifests, and how to reach its store.</summary>
internal sealed class ManifestKind
{
    public static readonly ManifestKind Secret = new("Secret", "v1", namespaced: true);
    public static readonly ManifestKind StorageBackend = new(ApiGroup.StorageBackendKind, ApiGroup.ApiVersion, namespaced: false);
    public static readonly ManifestKind WorkspaceStorage = new(ApiGroup.WorkspaceStorageKind, ApiGroup.ApiVersion, namespaced: true);

    private ManifestKind(string name, string apiVersion, bool namespaced)
    {
        Name = name;
        ApiVersion = apiVersion;
        Namespaced = namespaced;
    }

    /// <summary>In apply order.</summary>
    public static IReadOnlyList<ManifestKind> All { get; } = [Secret, StorageBackend, WorkspaceStorage];

    public string Name { get; }

    public string ApiVersion { get; }

    public bool Namespaced { get; }

    public static ManifestKind? Of(JsonObject document)
    {
        var kind = document["kind"]?.ToString();
        var apiVersion = document["apiVersion"]?.ToString();
        return All.FirstOrDefault(k => k.Name == kind && k.ApiVersion == apiVersion);
    }

    public Normalized Normalize(JsonObject document)
    {
        var copy = (JsonObject)document.DeepClone();
        copy.Remove("status"); // status is the operator's, as with a status subresource
        if (copy["metadata"] is not JsonObject metadata || metadata["name"]?.ToString() is not { Length: > 0 } name)
        {
            return new Normalized(default, copy, "metadata.name is required");
        }

        // Server-owned fields are the store's to set.
        foreach (var field in (string[])["uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "managedFields"])
        {
            metadata.Remove(field);
        }

        string? @namespace = null;
        if (Namespaced)
        {
            @namespace = metadata["namespace"]?.ToString() is { Length: > 0 } given ? given : "default";
            metadata["namespace"] = @namespace;
        }
        else
        {
            metadata.Remove("namespace");
        }

        if (this == Secret)
        {
            // As the API server does (stringData is write-only and lands base64-encoded in data), so a later apply
            // compares data with data.
            SecretStringData.Fold(copy);
        }

        return new Normalized(new ResourceKey(@namespace, name), copy, null);
    }

    public async Task<JsonObject?> GetAsync(LocalModeStores stores, ResourceKey key, CancellationToken cancellationToken)
    {
        object? found = this == Secret ? await stores.Secrets.GetAsync(key, cancellationToken).ConfigureAwait(false)
            : this == StorageBackend ? await stores.StorageBackends.GetAsync(key, cancellationToken).ConfigureAwait(false)
            : await stores.WorkspaceStorages.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return found is null ? null : JsonNode.Parse(KubernetesJson.Serialize(found)) as JsonObject;
    }

    public Task CreateAsync(LocalModeStores stores, JsonObject document, CancellationToken cancellationToken) =>
        this == Secret ? stores.Secrets.CreateAsync(As<V1Secret>(document), cancellationToken)
        : this == StorageBackend ? stores.StorageBackends.CreateAsync(As<StorageBackendResource>(document), cancellationToken)
        : stores.WorkspaceStorages.CreateAsync(As<WorkspaceStorageResource>(document), cancellationToken);

    public Task ReplaceAsync(LocalModeStores stores, JsonObject document, CancellationToken cancellationToken) =>
        this == Secret ? stores.Secrets.ReplaceAsync(As<V1Secret>(document), cancellationToken)
        : this == StorageBackend ? stores.StorageBackends.ReplaceAsync(As<StorageBackendResource>(document), cancellationToken)
        : stores.WorkspaceStorages.ReplaceAsync(As<WorkspaceStorageResource>(document), cancellationToken);

    public Task<bool> DeleteAsync(LocalModeStores stores, ResourceKey key, CancellationToken cancellationToken) =>
        this == Secret ? stores.Secrets.DeleteAsync(key, cancellationToken)
        : this == StorageBackend ? stores.StorageBackends.DeleteAsync(key, cancellationToken)
        : stores.WorkspaceStorages.DeleteAsync(key, cancellationToken);

    private static T As<T>(JsonObject document) => KubernetesJson.Deserialize<T>(document.ToJsonString());
}
