using Microsoft.AspNetCore.Routing.Patterns;
using static WorkspaceStorage.Api.Tests.Deployment.HyphaOverlay;

namespace WorkspaceStorage.Api.Tests.Deployment;

/// <summary>
/// The Ingress and the HTTPRoute of config/hypha-routes, rendered from the example overlay: on Hypha's host name they
/// send exactly the API's routes to the API's Service and everything else to Hypha. The API's routes come from the
/// built app, so a route added to the API without a rule here fails these tests.
/// </summary>
public sealed class HyphaHostRoutingTests
{
    /// <summary>API routes deliberately left to Hypha on its host name, and why. Reach them on the API's own Service.</summary>
    private static readonly Dictionary<string, string> KeptOffHyphasHost = new(StringComparer.Ordinal)
    {
        ["/{workspace}/services/s3-storage"] = "the API's extension: on Hypha's host it would hide a service a user registers as s3-storage",
        ["/{workspace}/services/s3-storage/{function}"] = "the API's extension (as above)",
        ["/healthz"] = "probe of the API's pods",
        ["/readyz"] = "probe of the API's pods",
        ["/metrics"] = "Hypha serves its own /metrics",
        ["/openapi/{documentName}.json"] = "the API's own documentation",
        ["/scalar/{documentName?}"] = "the API's own documentation (and every asset Scalar serves under /scalar/)",
    };

    /// <summary>Paths Hypha serves (hypha/http.py, s3.py, artifact.py, git/, websocket.py), some only a character away from the API's.</summary>
    private static readonly string[] HyphasOwnPaths =
    [
        "/", "/ws", "/rpc", "/login", "/metrics", "/health/readiness", "/health/liveness", "/assets/hypha-rpc-websocket.mjs",
        "/oauth/token", "/triton/models", "/ws/agent-skills/x",
        "/public/services", "/public/services/", "/public/services/hypha-login/start",
        "/public/services/s3-storage-extra/generate_credential", "/public/services/s3-storagex",
        "/public/services/s3-storage/generate_credential/extra", "/public/apps/hypha-app-engine/index.html",
        "/ws-user-x/info", "/ws-user-x/services", "/ws-user-x/services/s3-storage/generate_credential",
        "/ws-user-x/apps/my-app/index.html", "/ws-user-x/apps/files/index.html",
        "/ws-user-x/artifacts/a/files/x.txt", "/ws-user-x/artifacts/a/create-multipart-upload",
        "/ws-user-x/git/repo/info/refs", "/ws-user-x/view/a/b.html",
        "/ws-user-x/filesystem", "/ws-user-x/files-backup/a", "/ws-user-x/create-multipart-upload/x", "/ws-user-x/upload-files",
        "/s3", "/s3/", "/s3x/a",
    ];

    public static TheoryData<Routes> BothForms => [Routes.HttpRoute, Routes.Ingress];

    [Theory]
    [MemberData(nameof(BothForms))]
    public void Every_API_route_goes_to_the_API_unless_kept_off_Hyphas_host_on_purpose(Routes form)
    {
        var rendered = Shipped(form);
        var routes = Of(rendered, form);
        var wrong = new List<string>();
        foreach (var pattern in ApiRouteTemplates.All)
        {
            foreach (var path in ApiRouteTemplates.PathsFor(pattern))
            {
                Assert.True(ApiRouteTemplates.Matches(pattern, path), $"example path {path} does not match its own template {pattern.RawText}");
                // A path that a routed template also matches belongs to the API (e.g. /public/services/s3-storage/x
                // fits /{workspace}/services/s3-storage/{function} too; the literal route is the one ASP.NET runs).
                var expected = RoutedTemplatesMatching(path).Count > 0 ? Api(rendered) : Hypha(rendered);
                wrong.AddRange(Decisions(routes, form, path).Where(d => d.Backend != expected).Select(d => $"{pattern.RawText}: {path} → {d.Backend?.ToString() ?? "nothing"} ({d.How}), expected {expected}"));
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void The_list_of_routes_kept_off_Hyphas_host_names_only_routes_the_API_has()
    {
        var templates = ApiRouteTemplates.All.Select(p => p.RawText!).ToHashSet(StringComparer.Ordinal);
        Assert.All(KeptOffHyphasHost.Keys, t => Assert.Contains(t, templates));
        // The routes this project is about are among those the rules must carry.
        foreach (var routed in new[] { "/{workspace}/files/{**path}", "/{workspace}/create-multipart-upload", "/{workspace}/complete-multipart-upload", "/s3/{bucket}/{**key}", "/public/services/s3-storage/{function}" })
        {
            Assert.Contains(routed, templates);
            Assert.DoesNotContain(routed, KeptOffHyphasHost.Keys);
        }
    }

    [Theory]
    [MemberData(nameof(BothForms))]
    public void Hyphas_own_paths_stay_with_Hypha(Routes form)
    {
        var rendered = Shipped(form);
        var routes = Of(rendered, form);
        var wrong = new List<string>();
        foreach (var path in HyphasOwnPaths)
        {
            // The list itself is right: the API serves none of these on Hypha's host.
            var served = RoutedTemplatesMatching(path);
            Assert.True(served.Count == 0, $"{path} is served by the API ({string.Join(", ", served)}); it is not Hypha's");
            wrong.AddRange(Decisions(routes, form, path).Where(d => d.Backend != Hypha(rendered)).Select(d => $"{path} → {d.Backend} ({d.How})"));
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void Every_HTTPRoute_match_is_a_regular_expression_and_the_catch_all_is_the_shortest_and_last()
    {
        // Why: config/hypha-routes/README.md. Implementations disagree on RegularExpression against PathPrefix, not
        // among regular expressions; the longest-first and the rule-order readings then give the same answer.
        var routes = HostRoutes.FromHttpRoute(Shipped().Single("HTTPRoute", "workspace-storage-hypha"));
        var catchAll = routes.Rules[^1];
        Assert.Equal("/.*", catchAll.Pattern);
        Assert.All(routes.Rules.SkipLast(1), r => Assert.True(r.Pattern.Length > catchAll.Pattern.Length));
    }

    [Fact]
    public void The_Ingress_is_for_ingress_nginx_with_regular_expressions_and_streams_bodies()
    {
        var ingress = Shipped(Routes.Ingress).Single("Ingress", "workspace-storage-hypha");
        var annotations = ingress["metadata"]!["annotations"]!.AsObject();
        Assert.Equal("true", (string?)annotations["nginx.ingress.kubernetes.io/use-regex"]);
        Assert.Equal("0", (string?)annotations["nginx.ingress.kubernetes.io/proxy-body-size"]); // no upload limit
        Assert.Equal("off", (string?)annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"]);
        Assert.Equal("off", (string?)annotations["nginx.ingress.kubernetes.io/proxy-buffering"]);
        var routes = HostRoutes.FromIngress(ingress, Shipped(Routes.Ingress).Objects);
        Assert.Equal("/", routes.Rules.MinBy(r => r.Pattern.Length)!.Pattern);
    }

    [Theory]
    [MemberData(nameof(BothForms))]
    public void The_host_Hyphas_Service_and_the_public_URL_come_from_the_routes_settings(Routes form)
    {
        var rendered = Customized(form);

        Assert.Equal(new Backend("hypha", "lab", 8080), Hypha(rendered));
        Assert.Equal("https://ai.lab.example", rendered.ApiEnvironment()["Api__PublicBaseUrl"]);
        var routes = Of(rendered, form);
        Assert.Equal(new Backend("hypha", "lab", 8080), routes.LongestFirst("/ws-user-x/apps/a"));
        Assert.Equal(Api(rendered), routes.LongestFirst("/ws-user-x/files/a"));
        if (form == Routes.Ingress)
        {
            var spec = rendered.Single("Ingress", "workspace-storage-hypha")["spec"]!;
            Assert.Equal("ai.lab.example", (string?)spec["rules"]![0]!["host"]);
            Assert.Equal("public-nginx", (string?)spec["ingressClassName"]);
            Assert.Equal("ai-tls", (string?)spec["tls"]![0]!["secretName"]);
            Assert.Equal(["ai.lab.example"], spec["tls"]![0]!["hosts"]!.AsArray().Select(h => (string?)h));
        }
        else
        {
            var spec = rendered.Single("HTTPRoute", "workspace-storage-hypha")["spec"]!;
            Assert.Equal(["ai.lab.example"], spec["hostnames"]!.AsArray().Select(h => (string?)h));
            Assert.Equal("edge", (string?)spec["parentRefs"]![0]!["name"]);
            Assert.Equal("infra", (string?)spec["parentRefs"]![0]!["namespace"]);
            // Hypha's namespace lets this route, and only it, reach Hypha's Service.
            var grant = rendered.Single("ReferenceGrant", "workspace-storage-hypha");
            Assert.Equal("lab", (string?)grant["metadata"]!["namespace"]);
            Assert.Equal("hypha", (string?)Assert.Single(grant["spec"]!["to"]!.AsArray())!["name"]);
            var from = Assert.Single(grant["spec"]!["from"]!.AsArray())!;
            Assert.Equal("HTTPRoute", (string?)from["kind"]);
            Assert.Equal("workspace-storage-system", (string?)from["namespace"]);
        }
    }

    private static bool IsKeptOff(RoutePattern pattern) =>
        KeptOffHyphasHost.ContainsKey(pattern.RawText!) || pattern.RawText!.StartsWith("/scalar/", StringComparison.Ordinal);

    /// <summary>The API's routes, other than those kept off Hypha's host, that serve <paramref name="path"/>.</summary>
    private static List<string> RoutedTemplatesMatching(string path) =>
        [.. ApiRouteTemplates.All.Where(p => !IsKeptOff(p) && ApiRouteTemplates.Matches(p, path)).Select(p => p.RawText!)];

    private static HostRoutes Of(Rendered rendered, Routes form) => form == Routes.Ingress
        ? HostRoutes.FromIngress(rendered.Single("Ingress", "workspace-storage-hypha"), rendered.Objects)
        : HostRoutes.FromHttpRoute(rendered.Single("HTTPRoute", "workspace-storage-hypha"));

    /// <summary>Where each reading of the rules sends <paramref name="path"/>: they must all agree with the expectation.</summary>
    private static IEnumerable<(Backend? Backend, string How)> Decisions(HostRoutes routes, Routes form, string path) => form == Routes.Ingress
        ? [(routes.LongestFirst(path), "ingress-nginx: longest first, case-insensitive")]
        :
        [
            (routes.LongestFirst(path), "longest first, searched from the start (NGINX Gateway Fabric)"),
            (routes.LongestFirstFullMatch(path), "longest first, full match (Envoy Gateway, Istio)"),
            (routes.InManifestOrder(path), "rule order, full match (kgateway)"),
        ];

    /// <summary>The API's Service, as the install renders it.</summary>
    private static Backend Api(Rendered rendered)
    {
        var service = rendered.Single("Service", "workspace-storage-api");
        var port = Assert.Single(service["spec"]!["ports"]!.AsArray())!;
        return new Backend("workspace-storage-api", (string)service["metadata"]!["namespace"]!, (long)port["port"]!);
    }

    private static Backend Hypha(Rendered rendered) => rendered.HyphaService;
}
