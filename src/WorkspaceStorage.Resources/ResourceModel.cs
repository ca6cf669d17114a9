using WorkspaceStorage.Core.Model;

namespace WorkspaceStorage.Resources;

/// <summary>The core's pure rules, applied to the resources as read from the API server.</summary>
public static class ResourceModel
{
    /// <summary>Validates the spec under the resource's name (see <see cref="WorkspaceStorageValidator"/>).</summary>
    public static ValidationResult<ValidatedWorkspaceStorage> Validate(this WorkspaceStorageResource resource, bool hasDefaultBackend)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return WorkspaceStorageValidator.Validate(resource.Metadata?.Name, resource.Spec, hasDefaultBackend);
    }

    /// <summary>Validates the spec under the resource's name (see <see cref="StorageBackendValidator"/>).</summary>
    public static ValidationResult<ValidatedStorageBackend> Validate(this StorageBackendResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return StorageBackendValidator.Validate(resource.Metadata?.Name, resource.Spec);
    }

    /// <summary>The StorageBackend's claim ceiling (see <see cref="StorageBackendValidator.CeilingOf"/>).</summary>
    public static ClaimCeiling CeilingOf(this StorageBackendResource resource, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return StorageBackendValidator.CeilingOf(resource.Metadata?.Name, resource.Spec, errors);
    }

    /// <summary>The Secret the spec asks for (<see cref="CredentialSecretName.Requested"/>).</summary>
    public static string RequestedSecretName(this WorkspaceStorageResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return CredentialSecretName.Requested(resource.Metadata?.Name, resource.Spec);
    }

    /// <summary>The Secret in use: the one the operator wrote (<c>status.secretName</c>), else the one the spec asks for.</summary>
    public static string SecretName(this WorkspaceStorageResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return resource.Status?.SecretName ?? resource.RequestedSecretName();
    }
}
