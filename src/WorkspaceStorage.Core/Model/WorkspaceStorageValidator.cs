using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Model;

/// <summary>
/// Checks a WorkspaceStorage beyond what the CRD schema enforces (and again what it does, since an old CRD or a
/// server without schema validation may let it through). Pure: no I/O.
/// </summary>
public static class WorkspaceStorageValidator
{
    /// <param name="name">The resource's metadata.name.</param>
    /// <param name="spec">The resource's spec as read from the API server.</param>
    /// <param name="hasDefaultBackend">Whether the operator was started with a default backend (then backendRef is optional).</param>
    public static ValidationResult<ValidatedWorkspaceStorage> Validate(string? name, WorkspaceStorageSpec? spec, bool hasDefaultBackend)
    {
        var errors = new List<FieldError>();
        spec ??= new WorkspaceStorageSpec();

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

        var secretName = CredentialSecretName.Requested(name, spec);
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

        var quota = QuotaRules.LimitsOf(spec.Quota, "spec.quota", errors);

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
            spec.DeletionPolicy) { Quota = quota });
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
