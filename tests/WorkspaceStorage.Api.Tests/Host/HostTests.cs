using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Tests.Auth;

namespace WorkspaceStorage.Api.Tests.Host;

/// <summary>The host through a real Kestrel: CORS, health, metrics, docs, error shapes, compression, body limits.</summary>
public sealed class HostTests : IAsyncLifetime
{
    private const string Origin = "https://app.example.org";
    private TestApi api = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => api = await TestApi.StartAsync(map: ProbeRoutes.Map);

    public ValueTask DisposeAsync() => api.DisposeAsync();

    [Fact]
    public void Binds_to_loopback_on_an_ephemeral_port()
    {
        Assert.Equal("127.0.0.1", api.BaseAddress.Host);
        Assert.NotEqual(0, api.BaseAddress.Port);
    }

    [Fact]
    public async Task Cors_preflight_echoes_the_origin_allows_credentials_and_range()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/ws-alpha/probe/read");
        request.Headers.Add("Origin", Origin);
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", "range, authorization");
        request.Headers.Add("Cookie", "access_token=garbage");

        using var response = await api.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(Origin, Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(response, "Access-Control-Allow-Credentials"));
        var allowed = Header(response, "Access-Control-Allow-Headers")!.ToLowerInvariant();
        Assert.Contains("range", allowed, StringComparison.Ordinal);
        Assert.Contains("authorization", allowed, StringComparison.Ordinal);
        Assert.Contains("GET", Header(response, "Access-Control-Allow-Methods")!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cors_on_a_real_request_echoes_the_origin_and_exposes_range_headers()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ws-alpha/services/s3-storage");
        request.Headers.Add("Origin", Origin);

        using var response = await api.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Origin, Header(response, "Access-Control-Allow-Origin"));
        var exposed = Header(response, "Access-Control-Expose-Headers")!;
        foreach (var name in new[] { "Accept-Ranges", "Content-Length", "Content-Range", "ETag" })
        {
            Assert.Contains(name, exposed, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Errors_carry_cors_headers_so_browsers_can_read_them()
    {
        using var unauthorized = new HttpRequestMessage(HttpMethod.Get, "/ws-alpha/probe/read");
        unauthorized.Headers.Add("Origin", Origin);
        unauthorized.Headers.TryAddWithoutValidation("Authorization", "Bearer nope");
        using var response401 = await api.Client.SendAsync(unauthorized, Ct);

        using var failing = new HttpRequestMessage(HttpMethod.Get, "/probe/throw");
        failing.Headers.Add("Origin", Origin);
        using var response500 = await api.Client.SendAsync(failing, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response401.StatusCode);
        Assert.Equal(Origin, Header(response401, "Access-Control-Allow-Origin"));
        Assert.Equal(HttpStatusCode.InternalServerError, response500.StatusCode);
        Assert.Equal(Origin, Header(response500, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Healthz_and_readyz_answer()
    {
        using var health = await api.Client.GetAsync("/healthz", Ct);
        using var ready = await api.Client.GetAsync("/readyz", Ct);

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var json = JsonDocument.Parse(await ready.Content.ReadAsStringAsync(Ct));
        Assert.Equal("Healthy", json.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Infrastructure_endpoints_ignore_bad_credentials()
    {
        foreach (var path in new[] { "/healthz", "/readyz", "/metrics", "/openapi/v1.json" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer garbage");
            using var response = await api.Client.SendAsync(request, Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} → {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task Metrics_expose_requests_by_route_template_and_status_and_the_bytes_counter()
    {
        using (await api.Client.GetAsync("/ws-alpha/services/s3-storage", Ct))
        {
        }

        api.App.Services.GetRequiredService<ApiMetrics>().AddStreamedBytes(StreamDirection.Download, 1234);
        using var response = await api.Client.GetAsync("/metrics", Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("http_requests_received_total{", text, StringComparison.Ordinal);
        Assert.Contains("http_request_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("endpoint=\"/{workspace}/services/s3-storage\"", text, StringComparison.Ordinal);
        Assert.Contains("code=\"200\"", text, StringComparison.Ordinal);
        Assert.Contains("workspace_storage_api_streamed_bytes_total{direction=\"download\"} 1234", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ws-alpha", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_document_lists_the_routes_and_scalar_serves_its_page()
    {
        using var doc = await api.Client.GetAsync("/openapi/v1.json", Ct);
        using var json = JsonDocument.Parse(await doc.Content.ReadAsStringAsync(Ct));
        var paths = json.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();

        Assert.Contains("/{workspace}/services/s3-storage", paths);
        Assert.Contains("/{workspace}/probe/read", paths);

        // Typed results: the answers' shapes, errors included, are in the document.
        var fileDelete = json.RootElement.GetProperty("paths").GetProperty("/{workspace}/files/{path}").GetProperty("delete").GetProperty("responses");
        Assert.Equal("#/components/schemas/FileMessage", Schema(fileDelete, "200"));
        Assert.Equal("#/components/schemas/ApiError", Schema(fileDelete, "404"));
        var currentWorkspace = json.RootElement.GetProperty("paths").GetProperty("/public/services/s3-storage/{function}").GetProperty("post").GetProperty("responses");
        Assert.Equal("#/components/schemas/ApiError", Schema(currentWorkspace, "401"));

        using var scalar = await api.Client.GetAsync("/scalar", Ct);
        Assert.Equal(HttpStatusCode.OK, scalar.StatusCode);
        Assert.Equal("text/html", scalar.Content.Headers.ContentType?.MediaType);
    }

    private static string? Schema(JsonElement responses, string status) =>
        responses.GetProperty(status).GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString();

    [Fact]
    public void JSON_has_no_reflection_fallback_so_these_tests_meet_the_contract_of_the_Native_AOT_build()
    {
        var json = api.App.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;

        Assert.True(json.TryGetTypeInfo(typeof(ApiError), out _));
        Assert.True(json.TryGetTypeInfo(typeof(Dictionary<string, object>), out _));
        Assert.False(json.TryGetTypeInfo(typeof(Uri), out _)); // known to reflection, not to Json.ApiJsonContext
    }

    [Fact]
    public async Task Service_description_has_Hypha_shape()
    {
        using var response = await api.Client.GetAsync("/ws-alpha/services/s3-storage", Ct);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var root = json.RootElement;

        Assert.Equal("public/s3-storage", root.GetProperty("id").GetString());
        Assert.Equal("s3-storage", root.GetProperty("type").GetString());
        Assert.Equal("public", root.GetProperty("config").GetProperty("visibility").GetString());
        foreach (var method in new[] { "generate_credential", "generate_presigned_url", "list_files", "get_file", "put_file",
                     "put_file_start_multipart", "put_file_complete_multipart", "remove_file" })
        {
            Assert.Equal("function", root.GetProperty(method).GetProperty("type").GetString());
            Assert.Equal(method, root.GetProperty(method).GetProperty("function").GetProperty("name").GetString());
        }

        using var bad = await api.Client.GetAsync("/etc/services/s3-storage", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/etc/services/s3-storage")]
    [InlineData("POST", "/etc/services/s3-storage/list_files")]
    [InlineData("POST", "/etc/create-multipart-upload")]
    [InlineData("POST", "/etc/complete-multipart-upload")]
    [InlineData("HEAD", "/etc/files/a.txt")]
    [InlineData("PUT", "/etc/files/a.txt")]
    [InlineData("DELETE", "/etc/files/a.txt")]
    public async Task Every_route_under_a_workspace_refuses_an_invalid_workspace_id_with_400_naming_it(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{}") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", api.Tokens.ForWorkspace("ws-alpha", "a"));

        using var response = await api.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        if (method != "HEAD")
        {
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            Assert.StartsWith("workspace ", body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Responses_are_not_compressed_even_when_gzip_is_offered()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ws-alpha/services/s3-storage");
        request.Headers.Add("Accept-Encoding", "gzip, deflate, br");

        using var response = await api.Client.SendAsync(request, Ct);
        var bytes = await response.Content.ReadAsByteArrayAsync(Ct);

        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Equal((byte)'{', bytes[0]);
    }

    [Fact]
    public async Task Unexpected_exception_is_500_internal_error_with_a_correlation_id_and_no_details()
    {
        using var response = await api.Client.GetAsync("/probe/throw", Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("internal error", AuthenticationOverHttpTests.AssertErrorShape(body));
        Assert.DoesNotContain("hunter2", body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(Header(response, "X-Correlation-Id")));
    }

    [Fact]
    public async Task Unavailable_backend_is_503_with_a_json_detail()
    {
        using var response = await api.Client.GetAsync("/probe/unavailable", Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("unavailable", AuthenticationOverHttpTests.AssertErrorShape(body), StringComparison.Ordinal);
        Assert.DoesNotContain("10.0.0.1", body, StringComparison.Ordinal);
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task Unknown_route_and_bad_binding_get_the_json_error_shape()
    {
        using var missing = await api.Client.GetAsync("/no/such/route/here", Ct);
        using var badInt = await api.Client.GetAsync("/probe/count?count=abc", Ct);

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        AuthenticationOverHttpTests.AssertErrorShape(await missing.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.BadRequest, badInt.StatusCode);
        Assert.Contains("count", AuthenticationOverHttpTests.AssertErrorShape(await badInt.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Path_errors_are_400_naming_the_argument_and_keys_stay_in_the_workspace()
    {
        var token = api.Tokens.ForWorkspace("ws-alpha", "r");
        using var traversal = new HttpRequestMessage(HttpMethod.Get, "/ws-alpha/probe/path?path=..%2Fws-beta%2Fsecret");
        traversal.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        using var refused = await api.Client.SendAsync(traversal, Ct);

        using var absolute = new HttpRequestMessage(HttpMethod.Get, "/ws-alpha/probe/path?path=%2Fetc%2Fpasswd");
        absolute.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        using var mapped = await api.Client.SendAsync(absolute, Ct);
        using var json = JsonDocument.Parse(await mapped.Content.ReadAsStringAsync(Ct));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.StartsWith("path ", AuthenticationOverHttpTests.AssertErrorShape(await refused.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
        Assert.Equal("ws-alpha/etc/passwd", json.RootElement.GetProperty("key").GetString());
    }

    [Fact]
    public async Task Routes_marked_unlimited_accept_bodies_over_Kestrels_default_and_others_get_413()
    {
        var size = 31 * 1024 * 1024;
        using var big = new ByteArrayContent(new byte[size]);
        using var accepted = await api.Client.PostAsync("/probe/upload", big, Ct);
        using var json = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(size, json.RootElement.GetProperty("total").GetInt64());

        // Expect: 100-continue lets Kestrel answer 413 before the client pushes 31 MB into a closing socket.
        using var tooBig = new HttpRequestMessage(HttpMethod.Post, "/probe/small-upload") { Content = new ByteArrayContent(new byte[size]) };
        tooBig.Headers.ExpectContinue = true;
        using var refused = await api.Client.SendAsync(tooBig, Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        AuthenticationOverHttpTests.AssertErrorShape(await refused.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Failing_readiness_check_makes_readyz_503_while_healthz_stays_200()
    {
        await using var sick = await TestApi.StartAsync(configure: b => b.Services.AddReadinessCheck<AlwaysUnhealthy>("storage"));

        using var ready = await sick.Client.GetAsync("/readyz", Ct);
        using var health = await sick.Client.GetAsync("/healthz", Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("storage", await ready.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Configured_cors_origins_narrow_the_echo()
    {
        await using var narrow = await TestApi.StartAsync(settings: new Dictionary<string, string?> { ["Api:CorsOrigins:0"] = Origin });

        using var allowed = new HttpRequestMessage(HttpMethod.Get, "/ws-alpha/services/s3-storage");
        allowed.Headers.Add("Origin", Origin);
        using var other = new HttpRequestMessage(HttpMethod.Get, "/ws-alpha/services/s3-storage");
        other.Headers.Add("Origin", "https://evil.example");

        using var allowedResponse = await narrow.Client.SendAsync(allowed, Ct);
        using var otherResponse = await narrow.Client.SendAsync(other, Ct);

        Assert.Equal(Origin, Header(allowedResponse, "Access-Control-Allow-Origin"));
        Assert.Null(Header(otherResponse, "Access-Control-Allow-Origin"));
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;

    private sealed class AlwaysUnhealthy : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(HealthCheckResult.Unhealthy("storage backend unreachable"));
    }
}
