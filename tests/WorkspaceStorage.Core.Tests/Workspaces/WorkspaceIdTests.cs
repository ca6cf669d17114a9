using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Tests.Workspaces;

public sealed class WorkspaceIdTests
{
    [Theory]
    [InlineData("ws-user-github|12345")]
    [InlineData("my-workspace")]
    [InlineData("a-b")]
    [InlineData("ws-0")]
    public void Hypha_ids_are_accepted_verbatim_and_the_prefix_ends_in_a_slash(string value)
    {
        var id = WorkspaceId.Parse(value);

        Assert.Equal(value, id.Value);
        Assert.Equal(value + "/", id.Prefix);
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("Ws-upper", "may contain only")]
    [InlineData("ws-..", "may contain only")]
    [InlineData("ws-a/../ws-b", "may contain only")]
    [InlineData("ws-a/b", "may contain only")]
    [InlineData("ws-a\\b", "may contain only")]
    [InlineData("ws a-b", "may contain only")]
    [InlineData("ws-a\0", "may contain only")]
    [InlineData("ws-a*", "may contain only")]
    [InlineData("etc", "must contain a hyphen")]
    [InlineData("public", "must contain a hyphen")]
    public void Invalid_ids_are_refused_with_the_rule(string value, string rule)
    {
        var error = Assert.Throws<InvalidWorkspaceIdException>(() => WorkspaceId.Parse(value));

        Assert.Contains(rule, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlong_ids_are_refused()
    {
        Assert.False(WorkspaceId.TryParse("ws-" + new string('a', WorkspaceId.MaxLength), out _, out var error));
        Assert.Contains("at most 128", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_null_id_is_refused() => Assert.Throws<InvalidWorkspaceIdException>(() => WorkspaceId.Parse(null));
}
