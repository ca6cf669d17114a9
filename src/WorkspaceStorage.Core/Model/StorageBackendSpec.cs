using System.ComponentModel;
using System.Text.Json.Serialization;
using WorkspaceStorage.Core.Model.Schema;

namespace WorkspaceStorage.Core.Model;

public sealed record StorageBackendSpec
{
    public const string DefaultRegion = "us-east-1";
    public const string DefaultBucket = "hypha-workspaces";
    public const string HttpUrlRule = "isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''";

    [JsonPropertyName("type")]
    [JsonConverter(typeof(TolerantEnumConverter<StorageBackendType>))]
    [Description("Which admin API the server speaks: minio (MinIO, AIStor, pgsty/silo, RustFS), ceph-rgw, or aws (AWS IAM and STS).")]
    [CrdRequired]
    public StorageBackendType Type { get; init; }

    [JsonPropertyName("endpoint")]
    [Description("S3 URL the operator uses (http or https, no path).")]
    [CrdRequired]
    [CrdLength(MinLength = 1, MaxLength = 2048)]
    [CrdValidation(HttpUrlRule, "must be an http:// or https:// URL with a host")]
    public string Endpoint { get; set; } = string.Empty;

    [JsonPropertyName("publicEndpoint")]
    [Description("S3 URL written into Secrets and presigned URLs; defaults to endpoint.")]
    [CrdLength(MinLength = 1, MaxLength = 2048)]
    [CrdValidation(HttpUrlRule, "must be an http:// or https:// URL with a host")]
    public string? PublicEndpoint { get; init; }

    [JsonPropertyName("region")]
    [Description("Region used for signing and written into Secrets.")]
    [CrdDefault(DefaultRegion)]
    [CrdPattern(StorageFieldRules.RegionPattern)]
    [CrdLength(MinLength = 1, MaxLength = 64)]
    public string Region { get; set; } = DefaultRegion;

    [JsonPropertyName("bucket")]
    [Description("The shared bucket; workspace W lives under the prefix 'W/'.")]
    [CrdDefault(DefaultBucket)]
    [CrdPattern(StorageFieldRules.BucketPattern)]
    [CrdLength(MinLength = 3, MaxLength = 63)]
    public string Bucket { get; set; } = DefaultBucket;

    [JsonPropertyName("adminCredentialsSecretRef")]
    [Description("Secret with the admin (root) key pair.")]
    [CrdRequired]
    public AdminCredentialsSecretReference AdminCredentialsSecretRef { get; set; } = new();

    [JsonPropertyName("pathStyle")]
    [Description("Path-style addressing (http://host/bucket/key) instead of virtual-hosted (http://bucket.host/key).")]
    [CrdDefault(true)]
    public bool PathStyle { get; set; } = true;

    [JsonPropertyName("caBundle")]
    [Description("PEM certificates to trust for the endpoint's TLS, in addition to the system roots.")]
    [CrdLength(MinLength = 1, MaxLength = 262144)]
    [CrdValidation("self.contains('-----BEGIN CERTIFICATE-----')", "must hold PEM certificates")]
    public string? CaBundle { get; init; }

    [JsonPropertyName("allowedClaims")]
    [Description("Which namespaces may claim which workspaces on this backend; a WorkspaceStorage outside every entry is refused (Stalled, reason ClaimNotAllowed) and gets no identity or key. Empty (the default): none, unless allowClaimsFromAnyNamespace.")]
    [CrdItems(MaxItems = AllowedClaim.MaxEntries)]
    public IReadOnlyList<AllowedClaim>? AllowedClaims { get; init; }

    [JsonPropertyName("allowClaimsFromAnyNamespace")]
    [Description("true: every namespace may claim every workspace (a single-tenant cluster). Default false: only allowedClaims admit.")]
    [CrdDefault(false)]
    public bool AllowClaimsFromAnyNamespace { get; init; }

    [JsonPropertyName("cors")]
    [Description("The CORS rule the operator keeps on the bucket (ID workspace-storage-operator:<name>, among the bucket's other rules, which it never changes), so browsers can use presigned URLs and workspace keys. Defaults to Hypha's rule for any origin; enabled: false removes that rule only.")]
    public BucketCorsSpec? Cors { get; init; }

    [JsonPropertyName("quota")]
    [Description("Workspace quotas on this backend, owned by its admin: the default a WorkspaceStorage gets when it sets no spec.quota, and the ceiling it may not ask above. Enforced by the workspace identity's policy (no put at the quota), on every backend type.")]
    public BackendQuotaSpec? Quota { get; init; }
}

public sealed record BucketCorsSpec
{
    public const int MaxOrigins = 100;

    [JsonPropertyName("enabled")]
    [Description("false: the operator keeps no CORS rule of this StorageBackend (and removes the one it set); the bucket's other rules are never touched.")]
    [CrdDefault(true)]
    public bool Enabled { get; set; } = true;

    [JsonPropertyName("allowedOrigins")]
    [Description("Origins browsers may call from: '*', or scheme://host[:port] with at most one '*' (https://*.example.org).")]
    [CrdDefault(new[] { "*" })]
    [CrdListType("set")]
    [CrdItems(MinItems = 1, MaxItems = MaxOrigins)]
    public IReadOnlyList<string> AllowedOrigins { get; set; } = ["*"];
}

public sealed record AdminCredentialsSecretReference
{
    [JsonPropertyName("name")]
    [CrdRequired]
    [CrdLength(MinLength = 1, MaxLength = 253)]
    [CrdPattern(KubernetesNames.Dns1123SubdomainPattern)]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("namespace")]
    [CrdRequired]
    [CrdLength(MinLength = 1, MaxLength = 63)]
    [CrdPattern(KubernetesNames.Dns1123LabelPattern)]
    public string Namespace { get; set; } = string.Empty;

    [JsonPropertyName("accessKeyIdKey")]
    [CrdDefault(ExistingSecretReference.DefaultAccessKeyIdKey)]
    [CrdPattern(KubernetesNames.SecretKeyPattern)]
    [CrdLength(MinLength = 1, MaxLength = 253)]
    public string AccessKeyIdKey { get; set; } = ExistingSecretReference.DefaultAccessKeyIdKey;

    [JsonPropertyName("secretAccessKeyKey")]
    [CrdDefault(ExistingSecretReference.DefaultSecretAccessKeyKey)]
    [CrdPattern(KubernetesNames.SecretKeyPattern)]
    [CrdLength(MinLength = 1, MaxLength = 253)]
    public string SecretAccessKeyKey { get; set; } = ExistingSecretReference.DefaultSecretAccessKeyKey;
}

/// <summary>Kubernetes name rules, as patterns the CRD and the validators share.</summary>
public static class KubernetesNames
{
    public const string Dns1123SubdomainPattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    public const string Dns1123LabelPattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
    public const string SecretKeyPattern = "^[-._a-zA-Z0-9]+$";
}
