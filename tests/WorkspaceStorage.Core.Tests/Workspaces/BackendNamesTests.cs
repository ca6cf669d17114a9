using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Tests.Workspaces;

public sealed class BackendNamesTests
{
    [Fact]
    public void Pipe_and_hyphen_ids_get_different_identities()
    {
        var pipe = BackendNames.For(WorkspaceId.Parse("ws-a|b"));
        var hyphen = BackendNames.For(WorkspaceId.Parse("ws-a-b"));

        Assert.NotEqual(pipe.Identity, hyphen.Identity);
        Assert.Equal("wso-ws-a_b", pipe.Identity);
        Assert.Equal("wso-ws-a-b", hyphen.Identity);
    }

    [Fact]
    public void Names_hold_only_characters_backends_accept()
    {
        var names = BackendNames.For(WorkspaceId.Parse("ws-user-github|12345"));

        foreach (var name in new[] { names.Identity, names.Policy, names.Role })
        {
            Assert.Matches("^[a-z0-9_-]+$", name);
        }
    }

    [Fact]
    public void Long_ids_are_shortened_within_the_limit_and_stay_unique()
    {
        var common = "ws-" + new string('x', 100);
        var first = BackendNames.For(WorkspaceId.Parse(common + "-1"), maxIdentityLength: 64);
        var second = BackendNames.For(WorkspaceId.Parse(common + "-2"), maxIdentityLength: 64);

        Assert.NotEqual(first.Identity, second.Identity);
        Assert.True(first.Policy.Length <= 64, first.Policy);
        Assert.StartsWith(BackendNames.HashedPrefix, first.Identity, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chosen_short_id_cannot_take_the_shortened_name_of_a_long_id()
    {
        var victim = BackendNames.For(WorkspaceId.Parse("ws-" + new string('v', 100)), maxIdentityLength: 64);
        // The attacker picks an id that spells the victim's shortened name without its prefix.
        var forged = victim.Identity[BackendNames.HashedPrefix.Length..];
        var attacker = BackendNames.For(WorkspaceId.Parse(forged), maxIdentityLength: 64);

        Assert.NotEqual(victim.Identity, attacker.Identity);
    }

    [Fact]
    public void The_same_id_always_maps_to_the_same_names()
    {
        var id = WorkspaceId.Parse("ws-" + new string('q', 120));
        Assert.Equal(BackendNames.For(id, 40), BackendNames.For(id, 40));
    }
}
