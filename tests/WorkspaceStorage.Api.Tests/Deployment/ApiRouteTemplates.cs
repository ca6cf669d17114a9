using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Api.Tests.Deployment;

/// <summary>
/// The route templates the API serves, read from the built app's endpoint data sources (with every optional route
/// switched on), and concrete request paths for each.
/// </summary>
internal static class ApiRouteTemplates
{
    /// <summary>Example values per route parameter; a new parameter name fails the test until it gets some here.</summary>
    private static readonly Dictionary<string, string[]> Examples = new(StringComparer.Ordinal)
    {
        ["workspace"] = ["ws-alpha", "ws-user-github|12345", "public"],
        ["path"] = ["", "a.txt", "docs/", "docs/2024/report.pdf"],
        ["function"] = ["generate_credential", "list_files"],
        ["bucket"] = ["hypha-workspaces"],
        ["key"] = ["", "ws-alpha/a.txt", "ws-alpha/dir/"],
        ["documentName"] = ["v1"],
    };

    private static readonly Lazy<IReadOnlyList<RoutePattern>> Patterns = new(Read);

    public static IReadOnlyList<RoutePattern> All => Patterns.Value;

    /// <summary>Paths that reach <paramref name="pattern"/>: every combination of the example values.</summary>
    public static IEnumerable<string> PathsFor(RoutePattern pattern)
    {
        IEnumerable<string> paths = [""];
        foreach (var segment in pattern.PathSegments)
        {
            if (segment.Parts is [RoutePatternParameterPart last] && (last.IsCatchAll || last.IsOptional))
            {
                // An empty catch-all or optional parameter matches with and without its '/'.
                paths = paths.SelectMany(p => Values(last).SelectMany(v => v.Length == 0 ? new[] { p, p + "/" } : [$"{p}/{v}"]));
                continue;
            }

            paths = paths.SelectMany(p => SegmentValues(segment).Select(v => $"{p}/{v}"));
        }

        return paths.Select(p => p.Length == 0 ? "/" : p);
    }

    /// <summary>Whether the API would route <paramref name="path"/> to <paramref name="pattern"/> (ASP.NET's own matcher).</summary>
    public static bool Matches(RoutePattern pattern, string path) =>
        new TemplateMatcher(new RouteTemplate(pattern), new RouteValueDictionary()).TryMatch(new PathString(path), new RouteValueDictionary());

    private static IEnumerable<string> Values(RoutePatternParameterPart parameter) =>
        Examples.TryGetValue(parameter.Name, out var values)
            ? values
            : throw new InvalidOperationException($"route parameter {{{parameter.Name}}} has no example values: add some to {nameof(ApiRouteTemplates)}.{nameof(Examples)}");

    /// <summary>The segment's parts one after the other, e.g. <c>{documentName}.json</c> → <c>v1.json</c>.</summary>
    private static IEnumerable<string> SegmentValues(RoutePatternPathSegment segment)
    {
        IEnumerable<string> values = [""];
        foreach (var part in segment.Parts)
        {
            IEnumerable<string> next = part switch
            {
                RoutePatternLiteralPart literal => [literal.Content],
                RoutePatternSeparatorPart separator => [separator.Content],
                RoutePatternParameterPart parameter => Values(parameter),
                _ => throw new NotSupportedException(part.GetType().Name),
            };
            values = values.SelectMany(v => next.Select(n => v + n));
        }

        return values;
    }

    private static IReadOnlyList<RoutePattern> Read()
    {
        var app = TestApi.Build(HyphaTokenFactory.NewSecret(), settings: new Dictionary<string, string?>
        {
            ["Api:S3Proxy:Enabled"] = "true", // mounts /s3/{bucket}/{**key}
        });
        try
        {
            return [.. ((IEndpointRouteBuilder)app).DataSources
                .SelectMany(source => source.Endpoints)
                .OfType<RouteEndpoint>()
                .Select(endpoint => endpoint.RoutePattern)
                .DistinctBy(pattern => pattern.RawText, StringComparer.Ordinal)];
        }
        finally
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
