using WorkspaceStorage.Core.Policies;

namespace WorkspaceStorage.Core.Model;

/// <summary>Checks a StorageBackend. Pure: no I/O.</summary>
public static class StorageBackendValidator
{
    /// <param name="name">The resource's metadata.name.</param>
    /// <param name="spec">The resource's spec as read from the API server.</param>
    public static ValidationResult<ValidatedStorageBackend> Validate(string? name, StorageBackendSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = new List<FieldError>();
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

        var quota = QuotaRules.BackendQuotaOf(spec.Quota, errors);
        CeilingOf(name, spec, errors); // for its errors only: the ceiling's readers call CeilingOf themselves

        if (errors.Count > 0)
        {
            return ValidationResult.Invalid<ValidatedStorageBackend>(errors);
        }

        var endpoint = StorageFieldRules.NormalizeEndpoint(spec.Endpoint);
        return ValidationResult.Valid<ValidatedStorageBackend>(new ValidatedStorageBackend(
            name!,
            spec.Type,
            endpoint,
            StorageFieldRules.PublicEndpointOf(spec.Endpoint, spec.PublicEndpoint),
            spec.Region,
            spec.Bucket,
            admin!,
            spec.PathStyle,
            spec.CaBundle,
            cors.Enabled ? BucketCorsRule.Hypha(cors.AllowedOrigins, BucketCorsRule.OperatorRuleId(name!)) : null) { Quota = quota });
    }

    /// <summary>
    /// The claim ceiling of a StorageBackend; <paramref name="errors"/> gets what makes it unusable. The companion reads
    /// it without the rest of the validation (it needs no CA bundle parsed to know who may be served).
    /// </summary>
    public static ClaimCeiling CeilingOf(string? name, StorageBackendSpec? spec, List<FieldError> errors) =>
        ClaimCeiling.From($"StorageBackend '{name}' spec.allowedClaims", spec?.AllowClaimsFromAnyNamespace == true,
            spec?.AllowedClaims, "spec.allowedClaims", errors);

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
