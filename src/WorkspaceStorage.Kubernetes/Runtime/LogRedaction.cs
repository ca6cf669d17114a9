using System.Text.RegularExpressions;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Last line of defence for error messages on their way to a log: masks values after secret-looking names and long
/// key-like runs. Code must still not put secrets into messages; this only limits the damage when some library does.
/// </summary>
public static partial class LogRedaction
{
    private const string Mask = "***";

    /// <summary>The message with secret-looking values masked.</summary>
    public static string Redact(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return "";
        }

        var masked = BearerToken().Replace(message, $"Bearer {Mask}");
        masked = NamedSecret().Replace(masked, match => $"{match.Groups["name"].Value}{match.Groups["sep"].Value}{Mask}");
        masked = KeyLikeRun().Replace(masked, Mask);
        return masked.Length <= 500 ? masked : masked[..500] + "…";
    }

    /// <summary>"ExceptionType: redacted message" for a log field.</summary>
    public static string Describe(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return $"{error.GetType().Name}: {Redact(error.Message)}";
    }

    [GeneratedRegex(@"(?<name>[A-Za-z0-9_\-]*(secret|token|password|passwd|signature|credential|authorization|session)[A-Za-z0-9_\-]*)(?<sep>""?\s*[:=]\s*""?)[^\s"",;&]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex NamedSecret();

    [GeneratedRegex(@"Bearer\s+[A-Za-z0-9\-_\.=+/]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BearerToken();

    // 32+ characters of base64/hex with at least one digit: secret keys, tokens, JWT parts; not ordinary words.
    [GeneratedRegex(@"(?=[A-Za-z0-9+/=_\-]*[0-9])[A-Za-z0-9+/=_\-]{32,}", RegexOptions.CultureInvariant)]
    private static partial Regex KeyLikeRun();
}
