using Microsoft.Extensions.Options;

namespace WorkspaceStorage.Api.Hosting;

/// <summary>Settings of the HTTP API itself. Bound from the <c>Api</c> configuration section.</summary>
public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>The absolute URL clients reach this API at (used when the API hands out URLs that point back to it).</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Workspaces anyone (including anonymous callers) may read. Empty by default.</summary>
    public List<string> PublicWorkspaces { get; set; } = [];

    /// <summary>
    /// Origins allowed by CORS. Empty (the default) echoes any origin with credentials allowed, as Hypha does,
    /// so browser apps served from anywhere keep working; list origins to narrow it.
    /// </summary>
    public List<string> CorsOrigins { get; set; } = [];

    /// <summary>
    /// Hypha's <c>--enable-s3-for-anonymous-users</c>: anonymous users may write in their own temporary workspace (the
    /// grant Hypha put in their token or call context). Off: anonymous callers only read.
    /// </summary>
    public bool AnonymousUsersMayWrite { get; set; }

    /// <summary>The <c>/s3</c> proxy (<c>Api:S3Proxy</c>), off by default.</summary>
    public Proxy.S3ProxyOptions S3Proxy { get; set; } = new();
}

internal sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.PublicBaseUrl))
        {
            failures.Add("Api:PublicBaseUrl is required (the absolute http(s) URL clients use to reach this API)");
        }
        else if (!Uri.TryCreate(options.PublicBaseUrl, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https")
            || !string.IsNullOrEmpty(uri.Query)
            || !string.IsNullOrEmpty(uri.Fragment)
            || !string.IsNullOrEmpty(uri.UserInfo))
        {
            failures.Add("Api:PublicBaseUrl must be an absolute http or https URL without user info, query or fragment");
        }

        foreach (var workspace in options.PublicWorkspaces)
        {
            if (Core.Workspaces.WorkspaceId.Validate(workspace) is { } rule)
            {
                failures.Add($"Api:PublicWorkspaces entry '{workspace}' {rule}");
            }
        }

        foreach (var origin in options.CorsOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/")
            {
                failures.Add($"Api:CorsOrigins entry '{origin}' must be an origin such as https://app.example.org");
            }
        }

        options.S3Proxy.Validate(failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
