using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Resources.Tests;

/// <summary>
/// The claim ceiling as a tenant would probe it: names that are prefixes of one another, patterns without a star, an
/// empty selector, labels it cannot see. Nothing is admitted unless an entry admits it.
/// </summary>
public sealed class ClaimCeilingTests
{
    private static readonly Dictionary<string, string> NoLabels = [];

    private static ClaimCeiling Ceiling(params AllowedClaim[] entries)
    {
        var errors = new List<FieldError>();
        var ceiling = ResourceModel.CeilingOf(Backend(entries), errors);
        Assert.Empty(errors);
        return ceiling;
    }

    private static StorageBackendResource Backend(AllowedClaim[] entries, bool any = false) => new()
    {
        Metadata = new V1ObjectMeta { Name = "shared" },
        Spec = new StorageBackendSpec { AllowedClaims = entries, AllowClaimsFromAnyNamespace = any },
    };

    private static string? Refusal(ClaimCeiling ceiling, string @namespace, string workspace, IReadOnlyDictionary<string, string>? labels = null) =>
        ceiling.Refusal(@namespace, labels ?? NoLabels, WorkspaceId.Parse(workspace));

    [Fact]
    public void Nothing_is_admitted_by_default()
    {
        var ceiling = Ceiling();
        var refusal = Refusal(ceiling, "team-a", "ws-team-a-data");
        Assert.Equal("StorageBackend 'shared' spec.allowedClaims has no entry for namespace 'team-a' (by name or by its labels)", refusal);
    }

    [Fact]
    public void One_explicit_line_admits_every_namespace_and_workspace()
    {
        var errors = new List<FieldError>();
        var ceiling = ResourceModel.CeilingOf(Backend([], any: true), errors);
        Assert.Empty(errors);
        Assert.Null(Refusal(ceiling, "anyone", "ws-user-github|12345"));
    }

    [Theory]
    [InlineData("team-a", "ws-team-a-data", true)]
    [InlineData("team-a", "ws-team-a-", true)]
    [InlineData("team-a", "ws-team-ab", false)] // 'ws-team-a-*' is not 'ws-team-a*'
    [InlineData("team-a", "ws-team-b-data", false)]
    [InlineData("team-a", "ws-user-github|12345", false)]
    [InlineData("team-ab", "ws-team-a-data", false)] // namespace names match whole, never as a prefix
    [InlineData("team", "ws-team-a-data", false)]
    [InlineData("workspace-storage-on-demand", "ws-user-github|12345", true)]
    [InlineData("workspace-storage-on-demand", "ws-team-a-data", false)]
    [InlineData("team-a", "ws-alpha", true)]
    [InlineData("team-a", "ws-alphabet", false)] // a pattern without '*' is the id itself
    [InlineData("team-a", "xws-alpha", false)]
    public void Names_and_patterns_match_whole(string @namespace, string workspace, bool admitted)
    {
        var ceiling = Ceiling(
            new AllowedClaim { Namespaces = ["team-a"], Workspaces = ["ws-team-a-*", "ws-alpha"] },
            new AllowedClaim { Namespaces = ["workspace-storage-on-demand"], Workspaces = ["ws-user-*"] });

        Assert.Equal(admitted, Refusal(ceiling, @namespace, workspace) is null);
    }

    [Fact]
    public void A_refusal_names_the_field_and_the_patterns_the_namespace_has()
    {
        var ceiling = Ceiling(new AllowedClaim { Namespaces = ["team-a"], Workspaces = ["ws-team-a-*"] });
        Assert.Equal("StorageBackend 'shared' spec.allowedClaims lets namespace 'team-a' claim only workspaces matching 'ws-team-a-*'; 'ws-user-github|12345' matches none",
            Refusal(ceiling, "team-a", "ws-user-github|12345"));
    }

    [Fact]
    public void A_label_selector_admits_only_namespaces_whose_labels_it_sees()
    {
        var ceiling = Ceiling(new AllowedClaim
        {
            NamespaceSelector = new NamespaceSelector { MatchLabels = new Dictionary<string, string> { ["tenant"] = "team-b", ["tier"] = "prod" } },
            Workspaces = ["ws-team-b-*"],
        });

        Assert.True(ceiling.NeedsLabels);
        Assert.Null(Refusal(ceiling, "b-prod", "ws-team-b-x", new Dictionary<string, string> { ["tenant"] = "team-b", ["tier"] = "prod", ["other"] = "y" }));
        Assert.NotNull(Refusal(ceiling, "b-dev", "ws-team-b-x", new Dictionary<string, string> { ["tenant"] = "team-b", ["tier"] = "dev" }));
        Assert.NotNull(Refusal(ceiling, "b-half", "ws-team-b-x", new Dictionary<string, string> { ["tenant"] = "team-b" }));
        Assert.NotNull(Refusal(ceiling, "b-case", "ws-team-b-x", new Dictionary<string, string> { ["tenant"] = "Team-B", ["tier"] = "prod" }));
        // Labels not known (the namespace not seen yet): refused, never admitted.
        Assert.NotNull(ceiling.Refusal("b-prod", (IReadOnlyDictionary<string, string>?)null, WorkspaceId.Parse("ws-team-b-x")));
    }

    [Fact]
    public void An_entry_that_would_admit_everyone_or_no_one_by_accident_is_refused_naming_the_field()
    {
        var errors = new List<FieldError>();
        ResourceModel.CeilingOf(Backend([
            new AllowedClaim { Workspaces = ["ws-*"] },                                                        // no namespaces at all
            new AllowedClaim { NamespaceSelector = new NamespaceSelector { MatchLabels = new Dictionary<string, string>() }, Workspaces = ["ws-*"] }, // empty selector
            new AllowedClaim { Namespaces = ["Team_A"], Workspaces = ["ws-*"] },
            new AllowedClaim { Namespaces = ["team-a"], Workspaces = [] },
            new AllowedClaim { Namespaces = ["team-a"], Workspaces = ["ws-a/../b", ""] },
        ]), errors);

        var text = string.Join("\n", errors);
        Assert.Contains("spec.allowedClaims[0]: must name namespaces or give namespaceSelector.matchLabels", text, StringComparison.Ordinal);
        Assert.Contains("spec.allowedClaims[1]: must name namespaces", text, StringComparison.Ordinal);
        Assert.Contains("spec.allowedClaims[2].namespaces", text, StringComparison.Ordinal);
        Assert.Contains("spec.allowedClaims[3].workspaces: must list at least one workspace id pattern", text, StringComparison.Ordinal);
        Assert.Contains("spec.allowedClaims[4].workspaces: 'ws-a/../b' may only hold workspace id characters", text, StringComparison.Ordinal);
        Assert.Contains("spec.allowedClaims[4].workspaces: '' is empty", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_storage_backend_validator_refuses_a_backend_with_a_broken_ceiling()
    {
        var backend = new StorageBackendResource
        {
            Metadata = new V1ObjectMeta { Name = "b" },
            Spec = new StorageBackendSpec
            {
                Type = StorageBackendType.CephRgw,
                Endpoint = "http://127.0.0.1:7480",
                AdminCredentialsSecretRef = new AdminCredentialsSecretReference { Name = "a", Namespace = "n" },
                AllowedClaims = [new AllowedClaim { Workspaces = ["ws-*"] }],
            },
        };

        var result = backend.Validate();
        Assert.False(result.IsValid);
        Assert.Contains("spec.allowedClaims[0]", result.Message, StringComparison.Ordinal);
    }
}
