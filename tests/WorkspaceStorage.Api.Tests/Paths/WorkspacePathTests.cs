using System.Text;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Paths;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Tests.Paths;

/// <summary>Client path → S3 key: tries hard to escape <c>W/</c> and checks it never does.</summary>
public sealed class WorkspacePathTests
{
    private static readonly WorkspaceId Workspace = WorkspaceId.Parse("ws-a");

    [Theory]
    [InlineData(null, "ws-a/", true)]
    [InlineData("", "ws-a/", true)]
    [InlineData("/", "ws-a/", true)]
    [InlineData("file.txt", "ws-a/file.txt", false)]
    [InlineData("/file.txt", "ws-a/file.txt", false)]
    [InlineData("dir/", "ws-a/dir/", true)]
    [InlineData("a/b/c/", "ws-a/a/b/c/", true)]
    [InlineData("/a/b/c/", "ws-a/a/b/c/", true)]
    [InlineData("a/b/c.tar.gz", "ws-a/a/b/c.tar.gz", false)]
    [InlineData("/etc/passwd", "ws-a/etc/passwd", false)]
    [InlineData("..data/x..y/...", "ws-a/..data/x..y/...", false)]
    [InlineData(".hidden/.config", "ws-a/.hidden/.config", false)]
    [InlineData("with space/ü/日本語.txt", "ws-a/with space/ü/日本語.txt", false)]
    [InlineData("100%/done%20.txt", "ws-a/100%/done%20.txt", false)]
    [InlineData("a+b=c&d?e#f", "ws-a/a+b=c&d?e#f", false)]
    [InlineData("emoji/😀.png", "ws-a/emoji/😀.png", false)]
    public void Valid_paths_map_under_the_workspace_prefix(string? path, string key, bool isDirectory)
    {
        var parsed = WorkspacePath.Parse(Workspace, path);
        Assert.Equal(key, parsed.Key);
        Assert.Equal(isDirectory, parsed.IsDirectory);
        Assert.StartsWith("ws-a/", parsed.Key, StringComparison.Ordinal);
    }

    [Fact]
    public void Trailing_slash_keeps_directory_meaning_at_any_depth()
    {
        for (var depth = 1; depth <= 20; depth++)
        {
            var path = string.Concat(Enumerable.Range(0, depth).Select(i => $"d{i}/"));
            var parsed = WorkspacePath.Parse(Workspace, path);
            Assert.True(parsed.IsDirectory);
            Assert.EndsWith("/", parsed.Key, StringComparison.Ordinal);
            Assert.Equal($"d{depth - 1}", parsed.Name);
        }
    }

    [Theory]
    [InlineData("..", "'..'")]
    [InlineData("../", "'..'")]
    [InlineData("../ws-b/secret", "'..'")]
    [InlineData("a/../../ws-b", "'..'")]
    [InlineData("a/..", "'..'")]
    [InlineData("/../etc/passwd", "'..'")]
    [InlineData(".", "'.'")]
    [InlineData("./a", "'.'")]
    [InlineData("a/./b", "'.'")]
    [InlineData("a/.", "'.'")]
    [InlineData("//etc/passwd", "empty")]
    [InlineData("///", "empty")]
    [InlineData("a//b", "empty")]
    [InlineData("a//", "empty")]
    [InlineData("\\etc\\passwd", "backslash")]
    [InlineData("a\\..\\..\\b", "backslash")]
    [InlineData("C:\\Windows", "backslash")]
    [InlineData("a\0b", "control")]
    [InlineData("a\nb", "control")]
    [InlineData("a\rb", "control")]
    [InlineData("a\tb", "control")]
    [InlineData("a\u007fb", "control")]
    [InlineData("a\u0085b", "control")]
    [InlineData("%2e%2e%2fetc", "percent")]
    [InlineData("..%2Fws-b", "percent")]
    [InlineData("%2E%2E/ws-b", "percent")]
    [InlineData("a%5c..", "percent")]
    [InlineData("a%00b", "percent")]
    [InlineData("%2e", "percent")]
    [InlineData("a/%2f", "percent")]
    public void Escapes_and_garbage_are_refused_naming_the_argument(string path, string ruleWord)
    {
        var error = Assert.Throws<ApiArgumentException>(() => WorkspacePath.Parse(Workspace, path, "file_path"));

        Assert.Equal(400, error.StatusCode);
        Assert.Equal("file_path", error.Argument);
        Assert.StartsWith("file_path ", error.Message, StringComparison.Ordinal);
        Assert.Contains(ruleWord, error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Unpaired_surrogates_are_refused_and_paired_ones_kept()
    {
        // Built at run time: attribute arguments are stored as UTF-8 and cannot hold a lone surrogate.
        foreach (var path in new[] { "a" + '\ud800' + "b", "a" + '\udc00', '\udc00' + "x" + '\ud800' })
        {
            var error = Assert.Throws<ApiArgumentException>(() => WorkspacePath.Parse(Workspace, path));
            Assert.Contains("surrogate", error.Rule, StringComparison.Ordinal);
        }

        Assert.True(WorkspacePath.TryParse(Workspace, "\ud83d\ude00", out _, out _));
    }

    [Fact]
    public void Key_length_limit_counts_utf8_bytes_including_the_prefix()
    {
        var room = WorkspacePath.MaxKeyBytes - Encoding.UTF8.GetByteCount(Workspace.Prefix);
        Assert.Equal(WorkspacePath.MaxKeyBytes, Encoding.UTF8.GetByteCount(WorkspacePath.Parse(Workspace, new string('x', room)).Key));
        Assert.Throws<ApiArgumentException>(() => WorkspacePath.Parse(Workspace, new string('x', room + 1)));

        // 'é' is two bytes: half as many characters fit.
        Assert.Throws<ApiArgumentException>(() => WorkspacePath.Parse(Workspace, new string('é', (room / 2) + 1)));
        Assert.True(WorkspacePath.TryParse(Workspace, new string('é', room / 2), out _, out _));
    }

    [Fact]
    public void A_workspace_never_reaches_a_workspace_whose_name_extends_it()
    {
        var shortWs = WorkspaceId.Parse("ws-a");
        foreach (var path in new[] { "", "/", "b", "b/", "../ws-ab/x", "/../ws-ab", "%2e%2e/ws-ab", "x/../../ws-ab/" })
        {
            if (WorkspacePath.TryParse(shortWs, path, out var parsed, out _))
            {
                Assert.StartsWith("ws-a/", parsed.Key, StringComparison.Ordinal);
                Assert.False(parsed.Key.StartsWith("ws-ab", StringComparison.Ordinal), parsed.Key);
            }
        }
    }

    [Fact]
    public void Fuzzed_paths_either_fail_or_stay_inside_the_prefix()
    {
        // Built from the characters that matter for escaping; deterministic seed so failures reproduce.
        var alphabet = new[] { "a", "b", ".", "..", "/", "\\", "%", "2e", "2f", "5c", "%2e", "%2f", "\0", " ", "é", "ws-a", "ws-ab", "~", ":" };
        var random = new Random(20261123);
        var accepted = 0;
        for (var i = 0; i < 50_000; i++)
        {
            var path = string.Concat(Enumerable.Range(0, random.Next(0, 12)).Select(_ => alphabet[random.Next(alphabet.Length)]));
            if (!WorkspacePath.TryParse(Workspace, path, out var parsed, out var rule))
            {
                Assert.False(string.IsNullOrEmpty(rule));
                continue;
            }

            accepted++;
            var key = parsed.Key;
            Assert.StartsWith("ws-a/", key, StringComparison.Ordinal);
            var segments = key.TrimEnd('/').Split('/');
            Assert.Equal("ws-a", segments[0]);
            Assert.DoesNotContain(segments.Skip(1), s => s is "" or "." or "..");
            Assert.DoesNotContain('\\', key);
            Assert.DoesNotContain('\0', key);
            Assert.DoesNotContain("%2e", key, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("%2f", key, StringComparison.OrdinalIgnoreCase);
            Assert.True(Encoding.UTF8.GetByteCount(key) <= WorkspacePath.MaxKeyBytes);
            Assert.Equal(path.EndsWith('/') || path.Length == 0, parsed.IsDirectory);

            // Decoding the key once more (as a careless proxy might) must not create a traversal either.
            var decoded = Uri.UnescapeDataString(key);
            Assert.DoesNotContain(decoded.Split('/'), s => s is "..");
        }

        Assert.True(accepted > 1000, $"the fuzzer should also produce valid paths (got {accepted})");
    }

    [Fact]
    public void Root_and_names()
    {
        var root = WorkspacePath.Root(Workspace);
        Assert.Equal(string.Empty, root.RelativePath);
        Assert.True(root.IsDirectory);
        Assert.Equal("ws-a/", root.Key);
        Assert.Equal(string.Empty, root.Name);
        Assert.Equal("c.txt", WorkspacePath.Parse(Workspace, "a/b/c.txt").Name);
        Assert.Equal("a/b/c.txt", WorkspacePath.Parse(Workspace, "/a/b/c.txt").RelativePath);
    }

    [Fact]
    public void Pipe_in_workspace_id_is_kept_verbatim_in_the_prefix()
    {
        var personal = WorkspaceId.Parse("ws-user-github|12345");
        Assert.Equal("ws-user-github|12345/notes/", WorkspacePath.Parse(personal, "notes/").Key);
    }
}
