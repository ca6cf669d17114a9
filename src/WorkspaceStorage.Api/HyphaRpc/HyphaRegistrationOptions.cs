using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.S3Storage;

namespace WorkspaceStorage.Api.HyphaRpc;

/// <summary>
/// Registration of the s3-storage service in a Hypha server (<c>HyphaRegistration</c> section). Without
/// <see cref="ServerUrl"/> the companion serves HTTP only.
/// </summary>
public sealed class HyphaRegistrationOptions
{
    public const string SectionName = "HyphaRegistration";

    /// <summary>Hypha's URL, http(s)://host[:port]; empty: no registration.</summary>
    public string? ServerUrl { get; set; }

    /// <summary>The workspace to register in; Hypha's clients ask for <c>public/s3-storage</c>.</summary>
    public string Workspace { get; set; } = S3StorageServiceDescription.DefaultWorkspace;

    public string ServiceId { get; set; } = S3StorageServiceDescription.DefaultServiceId;

    /// <summary>A file holding Hypha's <c>--root-token</c>: traded for a read_write token on <see cref="Workspace"/>, renewed here.</summary>
    public string? RootTokenFile { get; set; }

    /// <summary>A file holding a ready token with read_write on <see cref="Workspace"/> (the admin renews it; the file is re-read).</summary>
    public string? TokenFile { get; set; }

    /// <summary>
    /// Takeover mode: Hypha keeps its own s3-storage (<c>--enable-s3</c>, for its artifact manager and server apps), and
    /// the companion unregisters the built-in's registration once its own is live, and again whenever it comes back.
    /// Registrations of sibling companion replicas (client ids starting with <see cref="ClientIdPrefix"/>) are never touched.
    /// </summary>
    public bool Takeover { get; set; }

    /// <summary>How often takeover looks again for a built-in registration (besides Hypha's service_added events).</summary>
    public TimeSpan TakeoverRecheck { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Every replica's Hypha client id starts with this; the rest is the pod name or a random suffix.</summary>
    public string ClientIdPrefix { get; set; } = "wso-s3-storage-";

    /// <summary>Lifetime of the tokens traded for the root token (renewed before they expire).</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(24);

    public bool Enabled => !string.IsNullOrWhiteSpace(ServerUrl);
}

/// <summary>Refuses to start with a registration setting that could not work, naming the setting.</summary>
internal sealed class HyphaRegistrationOptionsValidator : IValidateOptions<HyphaRegistrationOptions>
{
    public ValidateOptionsResult Validate(string? name, HyphaRegistrationOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (!Uri.TryCreate(options.ServerUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https" or "ws" or "wss")
            || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.UserInfo))
        {
            failures.Add("HyphaRegistration:ServerUrl must be an absolute http(s) URL of the Hypha server, without user info or query");
        }

        var sources = (string.IsNullOrWhiteSpace(options.RootTokenFile) ? 0 : 1) + (string.IsNullOrWhiteSpace(options.TokenFile) ? 0 : 1);
        if (sources != 1)
        {
            failures.Add("HyphaRegistration: set exactly one of RootTokenFile (Hypha's --root-token) and TokenFile (a read_write token for the workspace)");
        }

        foreach (var (setting, path) in new[] { ("RootTokenFile", options.RootTokenFile), ("TokenFile", options.TokenFile) })
        {
            if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
            {
                failures.Add($"HyphaRegistration:{setting} '{path}' does not exist");
            }
        }

        foreach (var (setting, value) in new[] { ("Workspace", options.Workspace), ("ServiceId", options.ServiceId), ("ClientIdPrefix", options.ClientIdPrefix) })
        {
            if (string.IsNullOrWhiteSpace(value) || value.Any(c => c is '/' or ':' or ' ' or '*'))
            {
                failures.Add($"HyphaRegistration:{setting} must be non-empty without '/', ':', '*' or spaces");
            }
        }

        if (options.TokenLifetime < TimeSpan.FromMinutes(1))
        {
            failures.Add("HyphaRegistration:TokenLifetime must be at least 1 minute");
        }

        if (options.TakeoverRecheck < TimeSpan.FromSeconds(1))
        {
            failures.Add("HyphaRegistration:TakeoverRecheck must be at least 1 second");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
