using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace WorkspaceStorage.Api.Tests.Deployment;

/// <summary>A backend as "service.namespace:port", the same for an Ingress, an ExternalName Service and an HTTPRoute.</summary>
internal sealed record Backend(string Service, string Namespace, long Port)
{
    public override string ToString() => $"{Service}.{Namespace}:{Port}";
}

/// <summary>One path rule: its regular expression as written, the backend it sends to, and its place in the manifest.</summary>
internal sealed record PathRule(string Pattern, Backend Backend, int Position);

/// <summary>
/// The path rules for Hypha's host, and how a request path picks one. Both forms are regular expressions (see
/// config/hypha-routes/README.md): ingress-nginx tries <c>~* "^{path}"</c> by descending length, first match wins;
/// Gateway implementations try the longer pattern first, or the earlier rule on a tie (kgateway: rule order only).
/// </summary>
internal sealed class HostRoutes
{
    private readonly List<(PathRule Rule, Regex Search, Regex Full)> rules;

    private HostRoutes(IEnumerable<PathRule> rules, RegexOptions options) =>
        this.rules = rules
            .Select(r => (r, new Regex("^" + r.Pattern, options), new Regex($"^(?:{r.Pattern})$", options)))
            .ToList();

    public IReadOnlyList<PathRule> Rules => [.. rules.Select(r => r.Rule)];

    /// <summary>The Ingress's rules for its host; ExternalName Services resolved to what they name.</summary>
    public static HostRoutes FromIngress(JsonObject ingress, IReadOnlyList<JsonObject> objects)
    {
        var ns = (string)ingress["metadata"]!["namespace"]!;
        var paths = Assert.Single(ingress["spec"]!["rules"]!.AsArray())!["http"]!["paths"]!.AsArray();
        var rules = paths.Select((p, i) =>
        {
            Assert.Equal("ImplementationSpecific", (string?)p!["pathType"]);
            var service = p["backend"]!["service"]!;
            return new PathRule((string)p["path"]!, ResolveService(objects, (string)service["name"]!, ns, service["port"]!.AsObject()), i);
        });
        return new HostRoutes(rules, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }

    public static HostRoutes FromHttpRoute(JsonObject route)
    {
        var ns = (string)route["metadata"]!["namespace"]!;
        var rules = new List<PathRule>();
        foreach (var rule in route["spec"]!["rules"]!.AsArray())
        {
            var target = Assert.Single(rule!["backendRefs"]!.AsArray())!;
            var backend = new Backend((string)target["name"]!, (string?)target["namespace"] ?? ns, (long)target["port"]!);
            foreach (var match in rule["matches"]!.AsArray())
            {
                Assert.Equal("RegularExpression", (string?)match!["path"]!["type"]);
                rules.Add(new PathRule((string)match["path"]!["value"]!, backend, rules.Count));
            }
        }

        return new HostRoutes(rules, RegexOptions.CultureInvariant);
    }

    /// <summary>Longest pattern first, then manifest order; the pattern searched from the start of the path (NGINX).</summary>
    public Backend? LongestFirst(string path) => rules
        .OrderByDescending(r => r.Rule.Pattern.Length).ThenBy(r => r.Rule.Position)
        .FirstOrDefault(r => r.Search.IsMatch(path)).Rule?.Backend;

    /// <summary>Longest pattern first, the pattern matched against the whole path (Envoy, Istio).</summary>
    public Backend? LongestFirstFullMatch(string path) => rules
        .OrderByDescending(r => r.Rule.Pattern.Length).ThenBy(r => r.Rule.Position)
        .FirstOrDefault(r => r.Full.IsMatch(path)).Rule?.Backend;

    /// <summary>Manifest order only (kgateway ranks regular expressions by rule order).</summary>
    public Backend? InManifestOrder(string path) => rules.FirstOrDefault(r => r.Full.IsMatch(path)).Rule?.Backend;

    private static Backend ResolveService(IReadOnlyList<JsonObject> objects, string name, string ns, JsonObject port)
    {
        var service = Assert.Single(objects, o => (string?)o["kind"] == "Service" && (string?)o["metadata"]!["name"] == name
            && (string?)o["metadata"]!["namespace"] == ns);
        var ports = service["spec"]!["ports"]!.AsArray();
        var number = port["number"] is { } n
            ? (long)n
            : (long)Assert.Single(ports, p => (string?)p!["name"] == (string?)port["name"])!["port"]!;
        Assert.Contains(ports, p => (long)p!["port"]! == number);
        if ((string?)service["spec"]!["type"] != "ExternalName")
        {
            return new Backend(name, ns, number);
        }

        // service.namespace.svc.<cluster domain>
        var labels = ((string)service["spec"]!["externalName"]!).Split('.');
        Assert.True(labels.Length >= 4 && labels[2] == "svc", $"ExternalName {service["spec"]!["externalName"]} is not a Service's full DNS name");
        return new Backend(labels[0], labels[1], number);
    }
}
