using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Api.Json;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Hosting;

/// <summary>
/// <c>WorkspaceStorage.Api dev-token --workspace W [--permission r|rw|a] [--ttl 8h] [--user dev-user]</c>: prints a
/// Hypha-style HS256 token for W, signed with the same JWT secret the API verifies with (Hypha:JwtSecret[File],
/// HYPHA_JWT_SECRET[_FILE], JWT_SECRET; issuer and audience from the Hypha section). For local development only:
/// whoever holds the secret can mint any token, which is exactly what Hypha does. The token goes to stdout only.
/// </summary>
public static class DevTokenCommand
{
    public const string Name = "dev-token";
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(7);

    private const string Usage = "usage: WorkspaceStorage.Api dev-token --workspace <id> [--permission r|rw|a] [--ttl <duration, e.g. 8h>] [--user <id>]";

    /// <summary>Exit codes: 0 printed a token, 2 bad arguments, 1 no usable secret.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, IConfiguration? configuration = null, TimeProvider? time = null)
    {
        string? workspaceText = null;
        var permissionText = "rw";
        var ttlText = "8h";
        var user = "dev-user";
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--workspace": workspaceText = Next(); break;
                case "--permission": permissionText = Next() ?? ""; break;
                case "--ttl": ttlText = Next() ?? ""; break;
                case "--user": user = Next() ?? ""; break;
                case "-h" or "--help":
                    output.WriteLine(Usage);
                    return 0;
                default:
                    // Configuration overrides (--Hypha:JwtSecretFile=…) pass through to the configuration.
                    if (args[i].StartsWith("--", StringComparison.Ordinal) && args[i].Contains(':', StringComparison.Ordinal))
                    {
                        rest.Add(args[i]);
                        break;
                    }

                    error.WriteLine($"dev-token: unknown argument '{args[i]}'");
                    error.WriteLine(Usage);
                    return 2;
            }
        }

        if (!WorkspaceId.TryParse(workspaceText, out var workspace, out var rule))
        {
            error.WriteLine($"dev-token: --workspace {(workspaceText is null ? "is required" : rule)}");
            error.WriteLine(Usage);
            return 2;
        }

        if (!PermissionCodes.TryParse(permissionText, out var permission))
        {
            error.WriteLine("dev-token: --permission must be r, rw or a");
            return 2;
        }

        if (!DurationParser.TryParse(ttlText, out var lifetime, out var ttlError) || lifetime <= TimeSpan.Zero || lifetime > MaxLifetime)
        {
            error.WriteLine($"dev-token: --ttl {(ttlError is { Length: > 0 } ? ttlError : $"must be between 1s and {DurationParser.Format(MaxLifetime)}")}");
            return 2;
        }

        if (string.IsNullOrWhiteSpace(user))
        {
            error.WriteLine("dev-token: --user must not be empty");
            return 2;
        }

        configuration ??= new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine([.. rest])
            .Build();
        var options = new HyphaAuthOptions();
        configuration.GetSection(HyphaAuthOptions.SectionName).Bind(options);
        new HyphaAuthOptionsSetup(configuration).PostConfigure(Options.DefaultName, options);
        var validation = new HyphaAuthOptionsValidator().Validate(Options.DefaultName, options);
        if (validation.Failed)
        {
            error.WriteLine($"dev-token: {validation.FailureMessage}");
            return 1;
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        var claims = new Dictionary<string, object?>
        {
            ["iss"] = options.Issuer,
            ["sub"] = user,
            ["aud"] = options.Audience,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + lifetime).ToUnixTimeSeconds(),
            ["scope"] = $"ws:{workspace}#{permission.ToCode()} wid:{workspace}",
            ["gty"] = "client-credentials",
            [HyphaTokenVerifier.RolesClaim] = Array.Empty<string>(),
        };
        output.WriteLine(Sign(claims, options.JwtSecret!));
        return 0;
    }

    private static string Sign(Dictionary<string, object?> claims, string secret)
    {
        var header = Base64Url.EncodeToString(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}"""));
        var body = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims, ApiJsonContext.Default.DictionaryStringObject));
        var input = header + "." + body;
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(input));
        return input + "." + Base64Url.EncodeToString(signature);
    }
}
