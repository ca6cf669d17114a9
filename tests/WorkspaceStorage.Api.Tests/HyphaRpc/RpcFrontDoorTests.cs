using Hypha.Rpc.Services;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.HyphaRpc;
using WorkspaceStorage.Api.S3Storage;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Api.Tests.HyphaRpc;

/// <summary>
/// The Hypha front door's own rules, without a Hypha server (the real server is in the end-to-end WholeSystem tests):
/// who the caller is comes only from Hypha's stamped context, arguments bind as in Python, failures keep their meaning,
/// and the registration settings are refused at start-up naming the setting.
/// </summary>
public sealed class RpcFrontDoorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly WorkspaceId Alpha = WorkspaceId.Parse("ws-alpha");

    [Fact]
    public void The_caller_is_the_user_Hypha_stamped_with_its_grants_and_an_anonymous_user_stays_anonymous()
    {
        var member = RpcCaller.From(Context("ws-alpha", User("github|1", anonymous: false, ("ws-alpha", "rw"), ("ws-beta", "r"))));
        Assert.Equal("github|1", member.UserId);
        Assert.Equal(Permission.ReadWrite, member.PermissionFor(Alpha, isPublic: false));
        Assert.Equal(Permission.Read, member.PermissionFor(WorkspaceId.Parse("ws-beta"), isPublic: false));
        Assert.Equal(Permission.None, member.PermissionFor(WorkspaceId.Parse("ws-alphab"), isPublic: false));

        // Hypha marks anonymous users with is_anonymous; their grant on their own temporary workspace is capped at read.
        var anonymous = RpcCaller.From(Context("ws-user-anonymouz-x", User("anonymouz-x", anonymous: true, ("ws-user-anonymouz-x", "rw"))));
        Assert.True(anonymous.IsAnonymous);
        Assert.Equal(Permission.Read, anonymous.PermissionFor(WorkspaceId.Parse("ws-user-anonymouz-x"), isPublic: false));

        Assert.Same(HyphaPrincipal.Anonymous, RpcCaller.From(Context("ws-alpha", user: null)));
    }

    [Fact]
    public void A_garbled_grant_in_the_stamped_scope_refuses_the_call_instead_of_guessing()
    {
        var error = Assert.Throws<ApiException>(() => RpcCaller.From(Context("ws-alpha", User("u", anonymous: false, ("ws-alpha", "rwx")))));
        Assert.Equal(403, error.StatusCode);
    }

    [Fact]
    public void Arguments_bind_as_in_Python_keywords_by_name_positionals_in_schema_order()
    {
        var function = Function("generate_presigned_url");
        var bound = S3StorageRpcService.Bind(function, Call(["a.txt", "put_object"], new Dictionary<string, object?> { ["expiration"] = 60L }));
        Assert.Equal("a.txt", bound.RequiredString("path"));
        Assert.Equal("put_object", bound.OptionalString("client_method"));
        Assert.Equal(60, bound.Int("expiration", 3600, 1, 604800));

        Assert.Equal("path", Assert.Throws<ApiArgumentException>(() =>
            S3StorageRpcService.Bind(function, Call(["a.txt"], new Dictionary<string, object?> { ["path"] = "b.txt" }))).Argument);
        Assert.Equal("arguments", Assert.Throws<ApiArgumentException>(() =>
            S3StorageRpcService.Bind(function, Call(["a", "get_object", 1L, "extra"], new Dictionary<string, object?>()))).Argument);
    }

    [Fact]
    public void Values_as_msgpack_decodes_them_bind_and_a_value_of_any_other_type_is_refused_naming_its_argument()
    {
        var function = Function("put_file");
        var bound = S3StorageRpcService.Bind(function, Call([], new Dictionary<string, object?>
        {
            ["file_path"] = new List<object?> { "a.txt", "b.txt" },
            ["ttl"] = new List<object?> { 60L, null },
            ["use_proxy"] = false,
            ["_rkwargs"] = new Dictionary<string, object?> { ["raw"] = new byte[] { 1, 2 }, ["big"] = ulong.MaxValue, ["ratio"] = 0.5 },
        }));
        Assert.Equal(["a.txt", "b.txt"], bound.StringOrList("file_path", out var isList));
        Assert.True(isList);
        Assert.Equal([60, null], bound.IntOrList("ttl", 2, 1, 3600));
        Assert.False(bound.OptionalBool("use_proxy"));

        // Only the plain values of Json.ApiJsonContext have a JSON form (no reflection): a msgpack extension has none.
        var error = Assert.Throws<ApiArgumentException>(() => S3StorageRpcService.Bind(function,
            Call([], new Dictionary<string, object?> { ["file_path"] = new Hypha.Rpc.Protocol.MsgPackExtension(1, [0]) })));
        Assert.Equal("file_path", error.Argument);
    }

    [Theory]
    [InlineData(400, "ValueError")]
    [InlineData(403, "PermissionError")]
    [InlineData(404, "LookupError")]
    [InlineData(503, "ConnectionError")]
    [InlineData(500, "Exception")]
    public void Failures_reach_Hypha_clients_as_the_Python_error_of_the_same_meaning(int status, string errorType) =>
        Assert.Equal(errorType, S3StorageRpcService.ErrorType(status));

    [Theory]
    [InlineData("ftp://hypha.example.org", null, "HyphaRegistration:ServerUrl must be an absolute http(s) URL")]
    [InlineData("http://127.0.0.1:9600", null, "set exactly one of RootTokenFile")]
    [InlineData("http://127.0.0.1:9600", "/nonexistent/root-token", "HyphaRegistration:RootTokenFile '/nonexistent/root-token' does not exist")]
    public async Task Registration_settings_that_cannot_work_stop_the_start_naming_the_setting(string serverUrl, string? rootTokenFile, string expected)
    {
        await using var app = TestApi.Build(HyphaTokenFactory.NewSecret(), settings: new Dictionary<string, string?>
        {
            ["HyphaRegistration:ServerUrl"] = serverUrl,
            ["HyphaRegistration:RootTokenFile"] = rootTokenFile,
        });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(Ct));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_Hypha_URL_the_companion_serves_HTTP_only_and_readiness_does_not_wait_for_Hypha()
    {
        await using var api = await TestApi.StartAsync();
        using var response = await api.Client.GetAsync("/readyz", Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("hypha-registration", body, StringComparison.Ordinal);
    }

    private static S3StorageFunction Function(string name) =>
        new S3StorageService(Options.Create(new Workspaces.StorageOptions()), new Presigning.IdentityPresignedUrlRewriter(), null!, null!, null!).Find(name)!;

    private static HyphaCall Call(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs) =>
        new(args, kwargs, Context("ws-alpha", null));

    private static HyphaCallContext Context(string workspace, HyphaUser? user) =>
        new(workspace, $"{workspace}/client", "public/wso", user, new Dictionary<string, object?>());

    private static HyphaUser User(string id, bool anonymous, params (string Workspace, string Permission)[] grants) =>
        new(id, anonymous, null, anonymous ? [] : ["user"],
            new HyphaUserScope(grants.FirstOrDefault().Workspace, grants.ToDictionary(g => g.Workspace, g => g.Permission), "client"),
            new Dictionary<string, object?>());
}
