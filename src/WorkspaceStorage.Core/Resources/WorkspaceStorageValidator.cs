using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Core.Policies;

namespace WorkspaceStorage.Core.Resources;

/// <summary>A broken rule: the field path (<c>spec.workspace</c>) and what the rule says.</summary>
public sealed record FieldError(string Field, string Rule)
{
    public override string ToString() => $"{Field}: {Rule}";
}

/// <summary>The outcome of validating a resource: the resolved value, or the errors (never both).</summary>
public sealed record ValidationResult<T>
    where T : class
{
    internal ValidationResult(T? value, IReadOnlyList<FieldError> errors)
    {
        Value = value;
        Errors = errors;
    }

    public T? Value { get; }

    public IReadOnlyList<FieldError> Errors { get; }

    public bool IsValid => Value is not null;

    /// <summary>All errors on one line, for a Stalled condition's message or an event.</summary>
    public string Message => string.Join("; ", Errors);
}

public static class ValidationResult
{
    public static ValidationResult<T> Valid<T>(T value)
        where T : class => new(value, []);

    public static ValidationResult<T> Invalid<T>(IReadOnlyList<FieldError> errors)
        where T : class =>
        errors.Count > 0 ? new(null, errors) : throw new ArgumentException("an invalid result needs at least one error", nameof(errors));
}

/// <summary>A WorkspaceStorage with every default applied and every field checked: what the reconciler works from.</summary>
public sealed record ValidatedWorkspaceStorage(
    WorkspaceId Workspace,
    string? BackendName,
    AccessLevel Access,
    string SecretName,
    IReadOnlySet<SecretKeySet> KeySets,
    TimeSpan? RotationInterval,
    TimeSpan RotationGracePeriod,
    ExistingSecretReference? ExistingSecret,
    DeletionPolicy DeletionPolicy);

/// <summary>
/// Checks a WorkspaceStorage beyond what the CRD schema enforces (and again what it does, since an old CRD or a
/// server without schema validation may let it through). Pure: no I/O.
/// </summary>
public static class WorkspaceStorageValidator
{
    /// <param name="resource">The resource as read from the API server.</param>
    /// <param name="hasDefaultBackend">Whether the operator was started with a default backend (then backendRef is optional).</param>
    public static ValidationResult<ValidatedWorkspaceStorage> Validate(WorkspaceStorageResource resource, bool hasDefaultBackend)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var errors = new List<FieldError>();
        var name = resource.Metadata?.Name;
        var spec = resource.Spec ?? new WorkspaceStorageSpec();

        if (string.IsNullOrEmpty(name))
        {
            errors.Add(new("metadata.name", "must not be empty"));
        }

        // The workspace id is the S3 prefix verbatim: the security-relevant check.
        WorkspaceId? workspace = null;
        if (spec.Workspace is not null)
        {
            if (!WorkspaceId.TryParse(spec.Workspace, out workspace, out var rule))
            {
                errors.Add(new("spec.workspace", rule));
                workspace = null;
            }
        }
        else if (!string.IsNullOrEmpty(name))
        {
            if (!WorkspaceId.TryParse(name, out workspace, out var rule))
            {
                errors.Add(new("spec.workspace", $"not set, and metadata.name '{name}' cannot be used as the workspace id: it {rule}"));
                workspace = null;
            }
        }

        string? backendName = null;
        if (spec.BackendRef is null)
        {
            if (!hasDefaultBackend)
            {
                errors.Add(new("spec.backendRef", "is required: the operator runs without a default backend"));
            }
        }
        else
        {
            backendName = spec.BackendRef.Name;
            AddIfError(errors, "spec.backendRef.name", StorageFieldRules.ObjectNameError(backendName));
        }

        if (!Enum.IsDefined(spec.Access))
        {
            errors.Add(new("spec.access", "must be ReadWrite or ReadOnly"));
        }

        if (!Enum.IsDefined(spec.DeletionPolicy))
        {
            errors.Add(new("spec.deletionPolicy", "must be Retain or Delete"));
        }

        var secretName = CredentialSecretName.Requested(resource);
        if (spec.Secret?.Name is not null || !string.IsNullOrEmpty(name))
        {
            AddIfError(errors, spec.Secret?.Name is null ? $"spec.secret.name (default '<metadata.name>{CredentialSecretName.DefaultSuffix}')" : "spec.secret.name", StorageFieldRules.ObjectNameError(secretName));
        }

        var keySetList = spec.Secret?.KeySets ?? SecretSpec.AllKeySets;
        var keySets = new HashSet<SecretKeySet>();
        if (keySetList.Count == 0)
        {
            errors.Add(new("spec.secret.keySets", "must name at least one of aws, s3, cosi, hypha"));
        }

        foreach (var keySet in keySetList)
        {
            if (!Enum.IsDefined(keySet))
            {
                errors.Add(new("spec.secret.keySets", "may contain only aws, s3, cosi, hypha"));
            }
            else if (!keySets.Add(keySet))
            {
                errors.Add(new("spec.secret.keySets", $"lists '{keySet.ToString().ToLowerInvariant()}' twice"));
            }
        }

        var credentials = spec.Credentials ?? new CredentialsSpec();
        TimeSpan? interval = null;
        if (credentials.RotationInterval is not null)
        {
            if (!DurationParser.TryParse(credentials.RotationInterval, out var parsed, out var rule))
            {
                errors.Add(new("spec.credentials.rotationInterval", rule));
            }
            else if (parsed < MinimumRotationInterval)
            {
                errors.Add(new("spec.credentials.rotationInterval", $"must be at least {DurationParser.Format(MinimumRotationInterval)} (got '{credentials.RotationInterval}')"));
            }
            else
            {
                interval = parsed;
            }
        }

        var grace = TimeSpan.Zero;
        if (!DurationParser.TryParse(credentials.RotationGracePeriod, out var graceParsed, out var graceRule))
        {
            errors.Add(new("spec.credentials.rotationGracePeriod", graceRule));
        }
        else if (graceParsed < TimeSpan.Zero)
        {
            errors.Add(new("spec.credentials.rotationGracePeriod", "must not be negative"));
        }
        else
        {
            grace = graceParsed;
            if (interval is { } i && grace >= i)
            {
                errors.Add(new("spec.credentials.rotationGracePeriod", $"must be shorter than rotationInterval ({credentials.RotationGracePeriod} >= {credentials.RotationInterval}), or old keys would never be revoked"));
            }
        }

        var existing = credentials.ExistingSecretRef;
        if (existing is not null)
        {
            if (credentials.RotationInterval is not null)
            {
                errors.Add(new("spec.credentials.existingSecretRef", "cannot be combined with rotationInterval: the operator does not rotate keys it did not create"));
            }

            AddIfError(errors, "spec.credentials.existingSecretRef.name", StorageFieldRules.ObjectNameError(existing.Name));
            AddIfError(errors, "spec.credentials.existingSecretRef.accessKeyIdKey", StorageFieldRules.SecretKeyError(existing.AccessKeyIdKey));
            AddIfError(errors, "spec.credentials.existingSecretRef.secretAccessKeyKey", StorageFieldRules.SecretKeyError(existing.SecretAccessKeyKey));
            if (existing.Name == secretName)
            {
                errors.Add(new("spec.credentials.existingSecretRef.name", $"must differ from the Secret the operator writes ('{secretName}')"));
            }
        }

        if (errors.Count > 0)
        {
            return ValidationResult.Invalid<ValidatedWorkspaceStorage>(errors);
        }

        return ValidationResult.Valid<ValidatedWorkspaceStorage>(new ValidatedWorkspaceStorage(
            workspace!,
            backendName,
            spec.Access.ToLevel(),
            secretName,
            keySets,
            interval,
            grace,
            existing,
            spec.DeletionPolicy));
    }

    /// <summary>Shorter intervals would churn identities on the backend faster than pods can restart.</summary>
    public static readonly TimeSpan MinimumRotationInterval = TimeSpan.FromMinutes(5);

    internal static void AddIfError(List<FieldError> errors, string field, string? rule)
    {
        if (rule is not null)
        {
            errors.Add(new(field, rule));
        }
    }
}

/// <summary>A StorageBackend with every default applied and every field checked.</summary>
public sealed record ValidatedStorageBackend(
    string Name,
    StorageBackendType Type,
    string Endpoint,
    string PublicEndpoint,
    string Region,
    string Bucket,
    AdminCredentialsSecretReference AdminCredentialsSecret,
    bool PathStyle,
    string? CaBundle,
    BucketCorsRule? Cors);

/// <summary>Checks a StorageBackend. Pure: no I/O.</summary>
public static class StorageBackendValidator
{
    public static ValidationResult<ValidatedStorageBackend> Validate(StorageBackendResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var errors = new List<FieldError>();
        var name = resource.Metadata?.Name;
        var spec = resource.Spec;
        if (string.IsNullOrEmpty(name))
        {
            errors.Add(new("metadata.name", "must not be empty"));
        }

        if (spec is null)
        {
            errors.Add(new("spec", "is required"));
            return ValidationResult.Invalid<ValidatedStorageBackend>(errors);
        }

        if (!Enum.IsDefined(spec.Type))
        {
            errors.Add(new("spec.type", "must be minio, ceph-rgw or aws"));
        }

        WorkspaceStorageValidator.AddIfError(errors, "spec.endpoint", StorageFieldRules.EndpointError(spec.Endpoint));
        if (spec.PublicEndpoint is not null)
        {
            WorkspaceStorageValidator.AddIfError(errors, "spec.publicEndpoint", StorageFieldRules.EndpointError(spec.PublicEndpoint));
        }

        WorkspaceStorageValidator.AddIfError(errors, "spec.region", StorageFieldRules.RegionError(spec.Region));
        WorkspaceStorageValidator.AddIfError(errors, "spec.bucket", StorageFieldRules.BucketError(spec.Bucket));

        var admin = spec.AdminCredentialsSecretRef;
        if (admin is null)
        {
            errors.Add(new("spec.adminCredentialsSecretRef", "is required"));
        }
        else
        {
            WorkspaceStorageValidator.AddIfError(errors, "spec.adminCredentialsSecretRef.name", StorageFieldRules.ObjectNameError(admin.Name));
            WorkspaceStorageValidator.AddIfError(errors, "spec.adminCredentialsSecretRef.namespace", StorageFieldRules.NamespaceError(admin.Namespace));
            WorkspaceStorageValidator.AddIfError(errors, "spec.adminCredentialsSecretRef.accessKeyIdKey", StorageFieldRules.SecretKeyError(admin.AccessKeyIdKey));
            WorkspaceStorageValidator.AddIfError(errors, "spec.adminCredentialsSecretRef.secretAccessKeyKey", StorageFieldRules.SecretKeyError(admin.SecretAccessKeyKey));
        }

        if (spec.CaBundle is not null)
        {
            WorkspaceStorageValidator.AddIfError(errors, "spec.caBundle", CaBundleError(spec.CaBundle));
        }

        var cors = spec.Cors ?? new BucketCorsSpec();
        if (cors.Enabled)
        {
            WorkspaceStorageValidator.AddIfError(errors, "spec.cors.allowedOrigins", BucketCorsRule.OriginsError(cors.AllowedOrigins));
        }

        CeilingOf(resource, errors); // for its errors only: the ceiling's readers call CeilingOf themselves

        if (errors.Count > 0)
        {
            return ValidationResult.Invalid<ValidatedStorageBackend>(errors);
        }

        var endpoint = StorageFieldRules.NormalizeEndpoint(spec.Endpoint);
        return ValidationResult.Valid<ValidatedStorageBackend>(new ValidatedStorageBackend(
            name!,
            spec.Type,
            endpoint,
            spec.PublicEndpoint is null ? endpoint : StorageFieldRules.NormalizeEndpoint(spec.PublicEndpoint),
            spec.Region,
            spec.Bucket,
            admin!,
            spec.PathStyle,
            spec.CaBundle,
            cors.Enabled ? BucketCorsRule.Hypha(cors.AllowedOrigins, BucketCorsRule.OperatorRuleId(name!)) : null));
    }

    /// <summary>
    /// The claim ceiling of a StorageBackend; <paramref name="errors"/> gets what makes it unusable. The companion reads
    /// it without the rest of the validation (it needs no CA bundle parsed to know who may be served).
    /// </summary>
    public static ClaimCeiling CeilingOf(StorageBackendResource resource, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return ClaimCeiling.From($"StorageBackend '{resource.Metadata?.Name}' spec.allowedClaims", resource.Spec?.AllowClaimsFromAnyNamespace == true,
            resource.Spec?.AllowedClaims, "spec.allowedClaims", errors);
    }

    /// <summary>Parses the PEM so a typo fails here, with the field named, not later in a TLS handshake.</summary>
    public static string? CaBundleError(string pem)
    {
        try
        {
            var certificates = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            certificates.ImportFromPem(pem);
            return certificates.Count == 0 ? "must hold at least one PEM certificate" : null;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return "must hold PEM certificates ('-----BEGIN CERTIFICATE-----' blocks) that parse";
        }
    }
}
