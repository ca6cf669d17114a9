using System.Text;
using Microsoft.Extensions.Options;

namespace WorkspaceStorage.Api.Auth;

/// <summary>How Hypha tokens are verified. Bound from the <c>Hypha</c> configuration section.</summary>
public sealed class HyphaAuthOptions
{
    public const string SectionName = "Hypha";

    /// <summary>Environment variable holding the shared HS256 secret (Hypha's own secret).</summary>
    public const string SecretVariable = "HYPHA_JWT_SECRET";

    /// <summary>Environment variable naming a file that holds the secret (e.g. a mounted Kubernetes Secret).</summary>
    public const string SecretFileVariable = "HYPHA_JWT_SECRET_FILE";

    /// <summary>The variable Hypha itself reads, accepted too so one Secret can serve Hypha and this API.</summary>
    public const string HyphaSecretVariable = "JWT_SECRET";

    public const string DefaultIssuer = "https://amun.ai/";
    public const string DefaultAudience = "https://amun-ai.eu.auth0.com/api/v2/";

    /// <summary>Shortest secret accepted: a shorter HMAC key can be brute-forced offline from any one token.</summary>
    public const int MinSecretBytes = 16;

    /// <summary>The HS256 secret. Prefer <see cref="JwtSecretFile"/> or the environment; never log it.</summary>
    public string? JwtSecret { get; set; }

    /// <summary>A file whose content (trailing newline removed) is the secret.</summary>
    public string? JwtSecretFile { get; set; }

    /// <summary>Expected <c>iss</c> (Hypha's <c>AUTH0_ISSUER</c>).</summary>
    public string Issuer { get; set; } = DefaultIssuer;

    /// <summary>Expected <c>aud</c> (Hypha's <c>AUTH0_AUDIENCE</c>).</summary>
    public string Audience { get; set; } = DefaultAudience;

    /// <summary>Tolerance for clock differences when checking <c>exp</c> and <c>nbf</c>.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest token (in characters) looked at; longer ones are refused before any decoding.</summary>
    public int MaxTokenLength { get; set; } = 16 * 1024;

    /// <summary>How many verified tokens are remembered, so repeated calls skip verification (0 turns the cache off).</summary>
    public int VerifiedTokenCacheSize { get; set; } = 10_000;

    public override string ToString() =>
        $"HyphaAuthOptions {{ Issuer = {Issuer}, Audience = {Audience}, ClockSkew = {ClockSkew}, MaxTokenLength = {MaxTokenLength}, VerifiedTokenCacheSize = {VerifiedTokenCacheSize}, Secret = <redacted> }}";
}

/// <summary>Fills the secret from <c>HYPHA_JWT_SECRET</c> / <c>HYPHA_JWT_SECRET_FILE</c> when the section does not set it, and reads the file.</summary>
internal sealed class HyphaAuthOptionsSetup(IConfiguration configuration) : IPostConfigureOptions<HyphaAuthOptions>
{
    public void PostConfigure(string? name, HyphaAuthOptions options)
    {
        if (string.IsNullOrEmpty(options.JwtSecret) && string.IsNullOrEmpty(options.JwtSecretFile))
        {
            options.JwtSecret = configuration[HyphaAuthOptions.SecretVariable] ?? configuration[HyphaAuthOptions.HyphaSecretVariable];
            options.JwtSecretFile = configuration[HyphaAuthOptions.SecretFileVariable];
        }

        if (string.IsNullOrEmpty(options.JwtSecret) && !string.IsNullOrEmpty(options.JwtSecretFile) && File.Exists(options.JwtSecretFile))
        {
            options.JwtSecret = File.ReadAllText(options.JwtSecretFile).TrimEnd('\r', '\n');
        }
    }
}

/// <summary>Refuses to start with a missing or weak secret or an unusable issuer/audience. Messages never contain the secret.</summary>
internal sealed class HyphaAuthOptionsValidator : IValidateOptions<HyphaAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, HyphaAuthOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.JwtSecret))
        {
            failures.Add(string.IsNullOrEmpty(options.JwtSecretFile)
                ? $"Hypha:JwtSecret is required (set {HyphaAuthOptions.SecretVariable} or {HyphaAuthOptions.SecretFileVariable})"
                : $"Hypha:JwtSecretFile '{options.JwtSecretFile}' does not exist or is empty");
        }
        else if (Encoding.UTF8.GetByteCount(options.JwtSecret) < HyphaAuthOptions.MinSecretBytes)
        {
            failures.Add($"Hypha:JwtSecret must be at least {HyphaAuthOptions.MinSecretBytes} bytes");
        }

        if (string.IsNullOrWhiteSpace(options.Issuer))
        {
            failures.Add("Hypha:Issuer must not be empty");
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            failures.Add("Hypha:Audience must not be empty");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5))
        {
            failures.Add("Hypha:ClockSkew must be between 0 and 5 minutes");
        }

        if (options.MaxTokenLength is < 256 or > 1024 * 1024)
        {
            failures.Add("Hypha:MaxTokenLength must be between 256 and 1048576");
        }

        if (options.VerifiedTokenCacheSize is < 0 or > 1_000_000)
        {
            failures.Add("Hypha:VerifiedTokenCacheSize must be between 0 and 1000000");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
