using System.Security.Cryptography;
using System.Text;

namespace WorkspaceStorage.Core.Workspaces;

/// <summary>
/// A Hypha workspace id, validated. It is the S3 prefix verbatim (<c>W/</c>), so every rule here is a
/// security rule: no '/', no '.', nothing that could climb out of or alias another prefix.
/// </summary>
public sealed record WorkspaceId
{
    /// <summary>Hypha's own alphabet: lower-case letters, digits, '-' and '|'.</summary>
    public const string Alphabet = "a-z 0-9 - |";

    /// <summary>Longest id accepted anywhere; a backend may allow less (see <see cref="BackendNames"/>).</summary>
    public const int MaxLength = 128;

    private WorkspaceId(string value) => Value = value;

    public string Value { get; }

    /// <summary>The S3 key prefix of this workspace, always with its trailing slash.</summary>
    public string Prefix => Value + "/";

    public override string ToString() => Value;

    public static WorkspaceId Parse(string? value) =>
        TryParse(value, out var id, out var error) ? id : throw new InvalidWorkspaceIdException(value, error);

    public static bool TryParse(string? value, out WorkspaceId id, out string error)
    {
        id = null!;
        error = Validate(value) ?? string.Empty;
        if (error.Length > 0)
        {
            return false;
        }

        id = new WorkspaceId(value!);
        return true;
    }

    /// <summary>Returns why <paramref name="value"/> is not a workspace id, or null when it is one.</summary>
    public static string? Validate(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "must not be empty";
        }

        if (value.Length > MaxLength)
        {
            return $"must be at most {MaxLength} characters (got {value.Length})";
        }

        foreach (var c in value)
        {
            if (c is not (>= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '|'))
            {
                return $"may contain only {Alphabet} (found '{Printable(c)}')";
            }
        }

        // Hypha requires a hyphen so that reserved top-level names such as "etc" can never be a workspace.
        if (!value.Contains('-', StringComparison.Ordinal))
        {
            return "must contain a hyphen (names without one, such as 'etc', are reserved)";
        }

        return null;
    }

    /// <summary>A short, stable digest of the id, used to keep derived names unique after truncation.</summary>
    public string Digest(int hexChars = 10) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Value)))[..hexChars];

    private static string Printable(char c) => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString();
}

/// <summary>Thrown when a workspace id breaks a rule; the message names the rule, never anything secret.</summary>
public sealed class InvalidWorkspaceIdException(string? value, string rule)
    : ArgumentException($"workspace id '{value}' {rule}")
{
    public string Rule { get; } = rule;
}
