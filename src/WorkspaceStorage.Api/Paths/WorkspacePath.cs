using System.Text;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Paths;

/// <summary>
/// A client path inside one workspace, mapped to its S3 key <c>W/...</c>. Every key this type produces starts with
/// the workspace prefix <c>W/</c>, and nothing a client sends can move it elsewhere.
/// </summary>
/// <remarks>
/// Rules (each refusal is a 400 naming the argument):
/// <list type="bullet">
/// <item>Empty or <c>/</c> is the workspace root (a directory, key <c>W/</c>).</item>
/// <item>One leading <c>/</c> means "from the workspace root" and is dropped, so <c>/etc/passwd</c> is
///   <c>W/etc/passwd</c>. Anything else that looks absolute (<c>//x</c>, <c>C:</c>…) is refused as an empty segment or a
///   backslash.</item>
/// <item>A trailing <c>/</c> is kept and means "directory" (Hypha's normpath drops it, which broke directory
///   GET/DELETE below the root).</item>
/// <item>Refused: <c>..</c> and <c>.</c> segments, empty segments (<c>a//b</c>), backslashes, control characters
///   (including NUL and DEL), unpaired surrogates, and percent-escapes that decode to '.', '/', '\' or a control
///   character — routing has already decoded the path once, so such an escape can only be an attempt to smuggle a
///   traversal past this check and into a second decoder.</item>
/// <item>The whole key is at most 1024 UTF-8 bytes (S3's limit).</item>
/// </list>
/// </remarks>
public sealed record WorkspacePath
{
    /// <summary>S3's longest key, in UTF-8 bytes.</summary>
    public const int MaxKeyBytes = 1024;

    private WorkspacePath(WorkspaceId workspace, string relativePath, bool isDirectory)
    {
        Workspace = workspace;
        RelativePath = relativePath;
        IsDirectory = isDirectory;
    }

    public WorkspaceId Workspace { get; }

    /// <summary>The normalised path inside the workspace: no leading '/', trailing '/' for directories, "" for the root.</summary>
    public string RelativePath { get; }

    /// <summary>True for the root and for paths ending in '/'.</summary>
    public bool IsDirectory { get; }

    /// <summary>The S3 key: <c>W/</c> + <see cref="RelativePath"/>. Directories end in '/'.</summary>
    public string Key => Workspace.Prefix + RelativePath;

    /// <summary>The last segment without a trailing '/', or "" for the root.</summary>
    public string Name
    {
        get
        {
            var trimmed = RelativePath.TrimEnd('/');
            return trimmed[(trimmed.LastIndexOf('/') + 1)..];
        }
    }

    public override string ToString() => Key;

    /// <summary>The workspace root directory.</summary>
    public static WorkspacePath Root(WorkspaceId workspace) => new(workspace, string.Empty, isDirectory: true);

    /// <summary>Parses <paramref name="path"/>; throws <see cref="ApiArgumentException"/> (400) naming <paramref name="argument"/>.</summary>
    public static WorkspacePath Parse(WorkspaceId workspace, string? path, string argument = "path") =>
        TryParse(workspace, path, out var parsed, out var rule) ? parsed : throw new ApiArgumentException(argument, rule);

    /// <summary>Parses <paramref name="path"/>; on failure <paramref name="rule"/> says which rule it broke.</summary>
    public static bool TryParse(WorkspaceId workspace, string? path, out WorkspacePath parsed, out string rule)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        parsed = Root(workspace);
        rule = string.Empty;
        if (string.IsNullOrEmpty(path) || path == "/")
        {
            return true;
        }

        var relative = path[0] == '/' ? path[1..] : path;
        var error = CheckCharacters(relative) ?? CheckSegments(relative);
        if (error is null && Encoding.UTF8.GetByteCount(workspace.Prefix) + Encoding.UTF8.GetByteCount(relative) > MaxKeyBytes)
        {
            error = $"is too long (the S3 key may be at most {MaxKeyBytes} bytes including the workspace prefix)";
        }

        if (error is not null)
        {
            rule = error;
            return false;
        }

        parsed = new WorkspacePath(workspace, relative, isDirectory: relative.EndsWith('/'));
        return true;
    }

    private static string? CheckCharacters(string relative)
    {
        for (var i = 0; i < relative.Length; i++)
        {
            var c = relative[i];
            if (c == '\\')
            {
                return "must not contain backslashes";
            }

            if (char.IsControl(c))
            {
                return "must not contain control characters";
            }

            if (char.IsHighSurrogate(c) && i + 1 < relative.Length && char.IsLowSurrogate(relative[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                return "must be valid Unicode (unpaired surrogate)";
            }

            if (c == '%' && i + 2 < relative.Length && IsSmuggledEscape(relative[i + 1], relative[i + 2]))
            {
                return "must not contain percent-encoded '.', '/', '\\' or control characters";
            }
        }

        return null;
    }

    private static bool IsSmuggledEscape(char high, char low)
    {
        if (!char.IsAsciiHexDigit(high) || !char.IsAsciiHexDigit(low))
        {
            return false;
        }

        var value = (Convert.ToInt32(high.ToString(), 16) << 4) | Convert.ToInt32(low.ToString(), 16);
        return value is '.' or '/' or '\\' or < 0x20 or 0x7f;
    }

    private static string? CheckSegments(string relative)
    {
        // A trailing '/' marks a directory; every other '/' separates two non-empty segments.
        var body = relative.EndsWith('/') ? relative[..^1] : relative;
        if (body.Length == 0)
        {
            return "must not contain empty segments ('//')";
        }

        foreach (var segment in body.Split('/'))
        {
            switch (segment)
            {
                case "":
                    return "must not contain empty segments ('//')";
                case "..":
                    return "must not contain '..' segments";
                case ".":
                    return "must not contain '.' segments";
            }
        }

        return null;
    }
}
