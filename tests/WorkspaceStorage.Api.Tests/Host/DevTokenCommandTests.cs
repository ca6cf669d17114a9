using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Api.Tests.Host;

public sealed class DevTokenCommandTests
{
    private readonly string secret = HyphaTokenFactory.NewSecret();

    private IConfiguration Config(string? jwtSecret) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Hypha:JwtSecret"] = jwtSecret }).Build();

    private (int Code, string Out, string Err) Run(string? jwtSecret, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = DevTokenCommand.Run(args, output, error, Config(jwtSecret));
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task The_printed_token_verifies_with_the_APIs_verifier_and_grants_the_asked_permission_for_the_asked_time()
    {
        var (code, output, error) = Run(secret, "--workspace", "ws-alpha", "--permission", "r", "--ttl", "2h", "--user", "me");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        var token = output.Trim();
        using var verifier = new HyphaTokenVerifier(Options.Create(new HyphaAuthOptions { JwtSecret = secret }), TimeProvider.System);
        var result = await verifier.VerifyAsync(token);
        Assert.True(result.Succeeded, result.Failure?.Detail);
        Assert.Equal("me", result.Principal!.UserId);
        Assert.Equal(Permission.Read, result.Principal.Scope.Grants["ws-alpha"]);
        Assert.InRange(result.Principal.ExpiresAt!.Value, DateTimeOffset.UtcNow.AddHours(2).AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(2).AddMinutes(1));

        // Signed with another secret, the same token is refused: the command really uses the configured one.
        using var other = new HyphaTokenVerifier(Options.Create(new HyphaAuthOptions { JwtSecret = HyphaTokenFactory.NewSecret() }), TimeProvider.System);
        Assert.False((await other.VerifyAsync(token)).Succeeded);
    }

    [Theory]
    [InlineData("")]
    [InlineData("--workspace Not_A_Workspace!")]
    [InlineData("--workspace ws-alpha --permission root")]
    [InlineData("--workspace ws-alpha --ttl forever")]
    [InlineData("--workspace ws-alpha --ttl 30d")]
    [InlineData("--workspace ws-alpha --frobnicate")]
    [InlineData("--workspace")]
    public void Bad_arguments_exit_2_and_print_no_token(string arguments)
    {
        var (code, output, error) = Run(secret, arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("dev-token:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_weak_secret_exits_1_without_echoing_it()
    {
        Assert.Equal(1, Run(null, "--workspace", "ws-alpha").Code);
        var (code, output, error) = Run("short-secret", "--workspace", "ws-alpha");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.DoesNotContain("short-secret", error, StringComparison.Ordinal);
    }
}
