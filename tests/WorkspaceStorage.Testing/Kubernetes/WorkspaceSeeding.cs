using System.Text;
using k8s.Models;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>Writes into the test API server what the operator would for a workspace: its WorkspaceStorage with a status, and its credential Secret.</summary>
public static class WorkspaceSeeding
{
    /// <summary>A WorkspaceStorage with the status the operator writes (Ready or not) and its credential Secret.</summary>
    public static void SeedWorkspace(KubeTestServer kube, string @namespace, string name, WorkspaceId workspace, AwsCredentials key, string backend,
        string bucket, bool isReady)
    {
        kube.Seed(new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace },
            Spec = new WorkspaceStorageSpec { Workspace = workspace.Value, BackendRef = new BackendReference { Name = backend } },
            Status = ReadyStatus(name, workspace, key, backend, bucket, isReady),
        });
        kube.Seed(CredentialSecret(@namespace, name + "-creds", key));
    }

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
