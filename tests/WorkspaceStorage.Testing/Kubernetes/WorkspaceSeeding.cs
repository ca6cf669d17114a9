using System.Text;
using k8s.Models;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>Writes into the API server what the operator would for a workspace: its WorkspaceStorage with a status, and its credential Secret.</summary>
public static class WorkspaceSeeding
{
    /// <summary>
    /// A WorkspaceStorage with the status the operator writes (Ready or not), then its credential Secret. On the real
    /// server that is three writes (create, the status, the Secret): a watcher may see the object without its status first.
    /// </summary>
    public static async Task SeedWorkspaceAsync(KubeCluster kube, string @namespace, string name, WorkspaceId workspace, AwsCredentials key, string backend,
        string bucket, bool isReady)
    {
        ArgumentNullException.ThrowIfNull(kube);
        await kube.SeedAsync(Storage(@namespace, name, workspace, key, backend, bucket, isReady));
        await kube.SeedAsync(CredentialSecret(@namespace, name + "-creds", key));
    }

    /// <summary>The WorkspaceStorage <see cref="SeedWorkspaceAsync"/> writes (spec and status), for callers that store it themselves.</summary>
    public static WorkspaceStorageResource Storage(string @namespace, string name, WorkspaceId workspace, AwsCredentials key, string backend, string bucket,
        bool isReady) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace },
        Spec = new WorkspaceStorageSpec { Workspace = workspace.Value, BackendRef = new BackendReference { Name = backend } },
        Status = ReadyStatus(name, workspace, key, backend, bucket, isReady),
    };

    public static WorkspaceStorageStatus ReadyStatus(string name, WorkspaceId workspace, AwsCredentials key, string backend, string bucket, bool isReady)
    {
        var status = new WorkspaceStorageStatus
        {
            Workspace = workspace.Value,
            Backend = backend,
            Bucket = bucket,
            Prefix = workspace.Prefix,
            SecretName = name + "-creds",
            AccessKeyId = key.AccessKeyId,
        };
        status.Set(ConditionTypes.Ready, isReady ? "True" : "False", isReady ? ConditionReasons.Reconciled : ConditionReasons.BackendUnavailable,
            "seeded by the test", null, DateTimeOffset.UtcNow);
        return status;
    }

    public static V1Secret CredentialSecret(string @namespace, string name, AwsCredentials key) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = @namespace,
            Labels = new Dictionary<string, string> { [ResourceMetadata.ManagedByLabel] = ResourceMetadata.ManagedByValue },
        },
        Data = new Dictionary<string, byte[]>
        {
            [CredentialSecretLayout.AwsAccessKeyId] = Encoding.UTF8.GetBytes(key.AccessKeyId),
            [CredentialSecretLayout.AwsSecretAccessKey] = Encoding.UTF8.GetBytes(key.SecretAccessKey),
        },
    };
}
