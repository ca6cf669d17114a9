using System.Globalization;
using WorkspaceStorage.Core.Model;

namespace WorkspaceStorage.Core.Credentials;

/// <summary>
/// Annotations on the credential Secret that make it the source of truth for key state: they are written in the same
/// write as the key, so a crash can never separate a key from what is known about it.
/// </summary>
public static class CredentialSecretAnnotations
{
    public const string PreviousAccessKeyId = ApiGroup.Group + "/previous-access-key-id";
    public const string PreviousKeyRevokeAfter = ApiGroup.Group + "/previous-key-revoke-after";
    public const string RotatedAt = ApiGroup.Group + "/rotated-at";
    public const string RotationRequest = ApiGroup.Group + "/rotation-request";

    /// <summary>Every annotation the operator owns on the Secret (others, such as a user's, are left alone).</summary>
    public static IReadOnlyList<string> Owned { get; } =
    [
        ResourceMetadata.ContentHashAnnotation, ResourceMetadata.WorkspaceAnnotation, PreviousAccessKeyId, PreviousKeyRevokeAfter, RotatedAt, RotationRequest,
    ];

    /// <summary>The key state the annotations record; a previous key without a valid revocation time is ignored.</summary>
    public static KeyState Read(IDictionary<string, string>? annotations)
    {
        if (annotations is null)
        {
            return KeyState.None;
        }

        annotations.TryGetValue(PreviousAccessKeyId, out var previous);
        var revokeAfter = ParseTime(annotations, PreviousKeyRevokeAfter);
        annotations.TryGetValue(RotationRequest, out var request);
        return new KeyState(
            string.IsNullOrEmpty(previous) || revokeAfter is null ? null : previous,
            string.IsNullOrEmpty(previous) ? null : revokeAfter,
            ParseTime(annotations, RotatedAt),
            string.IsNullOrEmpty(request) ? null : request);
    }

    /// <summary>The annotations that record <paramref name="state"/>, for the Secret that holds <paramref name="data"/>.</summary>
    public static Dictionary<string, string> For(IReadOnlyDictionary<string, byte[]> data, string workspace, KeyState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ResourceMetadata.ContentHashAnnotation] = CredentialSecretLayout.ContentHash(data),
            [ResourceMetadata.WorkspaceAnnotation] = workspace,
        };
        AddIfSet(annotations, PreviousAccessKeyId, state.PreviousAccessKeyId);
        AddIfSet(annotations, PreviousKeyRevokeAfter, state.PreviousRevokeAfter is { } r ? Format(r) : null);
        AddIfSet(annotations, RotatedAt, state.RotatedAt is { } t ? Format(t) : null);
        AddIfSet(annotations, RotationRequest, state.RotationRequest);
        return annotations;
    }

    /// <summary>Whole seconds, as Kubernetes stores times, so status and annotation round-trip unchanged.</summary>
    public static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset? ParseTime(IDictionary<string, string> annotations, string name) =>
        annotations.TryGetValue(name, out var text)
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            ? value
            : null;

    private static void AddIfSet(Dictionary<string, string> annotations, string name, string? value)
    {
        if (value is not null)
        {
            annotations[name] = value;
        }
    }
}
