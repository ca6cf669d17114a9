using System.Security.Cryptography;
using System.Text;

namespace WorkspaceStorage.Core.Model;

/// <summary>API group, version, kinds and plurals of the operator's resources.</summary>
public static class ApiGroup
{
    public const string Group = "workspacestorage.hypha.amun.ai";
    public const string Version = "v1alpha1";
    public const string ApiVersion = Group + "/" + Version;

    public const string WorkspaceStorageKind = "WorkspaceStorage";
    public const string WorkspaceStorageListKind = "WorkspaceStorageList";
    public const string WorkspaceStoragePlural = "workspacestorages";
    public const string WorkspaceStorageSingular = "workspacestorage";

    public const string StorageBackendKind = "StorageBackend";
    public const string StorageBackendListKind = "StorageBackendList";
    public const string StorageBackendPlural = "storagebackends";
    public const string StorageBackendSingular = "storagebackend";
}

/// <summary>Finalizer, annotation and label names the operator writes or reads.</summary>
public static class ResourceMetadata
{
    /// <summary>Held on a WorkspaceStorage until its identity, policies (and, with Delete, data) are gone.</summary>
    public const string Finalizer = ApiGroup.Group + "/finalizer";

    /// <summary>
    /// Set to any new value (e.g. a timestamp) to rotate the credentials now; the operator acts once per value and
    /// records it in <c>status.lastRotationRequest</c>.
    /// </summary>
    public const string RotateAnnotation = ApiGroup.Group + "/rotate";

    /// <summary>On the credential Secret: hash of its data as the operator wrote it (see CredentialSecretLayout).</summary>
    public const string ContentHashAnnotation = ApiGroup.Group + "/content-hash";

    /// <summary>On the credential Secret: the Hypha workspace id (annotation, because '|' is not allowed in label values).</summary>
    public const string WorkspaceAnnotation = ApiGroup.Group + "/workspace";

    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "workspace-storage-operator";

    /// <summary>On the credential Secret: the name of the WorkspaceStorage it belongs to (see <see cref="OwnerLabelValue"/>).</summary>
    public const string WorkspaceStorageLabel = ApiGroup.Group + "/workspacestorage";

    private const int MaxLabelValueLength = 63;

    /// <summary>
    /// A label value naming <paramref name="resourceName"/>. Object names may be 253 characters, label values only 63:
    /// longer names are cut and suffixed with a digest so two long names never share a value.
    /// </summary>
    public static string OwnerLabelValue(string resourceName)
    {
        ArgumentException.ThrowIfNullOrEmpty(resourceName);
        if (resourceName.Length <= MaxLabelValueLength)
        {
            return resourceName;
        }

        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(resourceName)))[..16];
        var head = resourceName[..(MaxLabelValueLength - digest.Length - 1)].TrimEnd('-', '.');
        return head + "-" + digest;
    }

    /// <summary>The labels every credential Secret carries.</summary>
    public static IReadOnlyDictionary<string, string> SecretLabels(string workspaceStorageName) =>
        new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ManagedByLabel] = ManagedByValue,
            [WorkspaceStorageLabel] = OwnerLabelValue(workspaceStorageName),
        };
}

/// <summary>Condition types (kstatus: Ready is normal-true; Reconciling and Stalled are abnormal-true).</summary>
public static class ConditionTypes
{
    public const string Ready = "Ready";
    public const string Reconciling = "Reconciling";
    public const string Stalled = "Stalled";
}

/// <summary>Reasons the operator uses in conditions and events (CamelCase, as metav1.Condition requires).</summary>
public static class ConditionReasons
{
    public const string Reconciled = "Reconciled";
    public const string Progressing = "Progressing";
    public const string RotatingCredentials = "RotatingCredentials";
    public const string InvalidSpec = "InvalidSpec";
    public const string BackendNotFound = "BackendNotFound";
    public const string BackendNotReady = "BackendNotReady";
    public const string BackendUnavailable = "BackendUnavailable";
    public const string BackendRejected = "BackendRejected";
    public const string SecretConflict = "SecretConflict";

    /// <summary>A StorageBackend names the endpoint and bucket of an older one.</summary>
    public const string BackendConflict = "BackendConflict";
    public const string ExistingSecretInvalid = "ExistingSecretInvalid";

    /// <summary>The StorageBackend's claim ceiling (spec.allowedClaims) does not let this namespace claim this workspace.</summary>
    public const string ClaimNotAllowed = "ClaimNotAllowed";
    public const string Deleting = "Deleting";
}
