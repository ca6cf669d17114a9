using System.Text.Json;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Tests.Policies;

public sealed class WorkspacePolicyBuilderTests
{
    private static readonly WorkspaceId Workspace = WorkspaceId.Parse("ws-user-github|12345");

    [Fact]
    public void Object_actions_are_confined_to_the_workspace_prefix()
    {
        using var policy = JsonDocument.Parse(WorkspacePolicyBuilder.Build("hypha-workspaces", Workspace, AccessLevel.ReadWrite));

        var objectStatement = Statements(policy).Single(s => s.GetProperty("Sid").GetString() == "AllowObjectActionsInWorkspaceFolder");
        Assert.Equal(["arn:aws:s3:::hypha-workspaces/ws-user-github|12345/*"], Strings(objectStatement.GetProperty("Resource")));
    }

    [Fact]
    public void Listing_is_allowed_only_with_a_prefix_inside_the_workspace()
    {
        using var policy = JsonDocument.Parse(WorkspacePolicyBuilder.Build("b", Workspace, AccessLevel.ReadWrite));

        var listStatements = Statements(policy).Where(s => Strings(s.GetProperty("Action")).Contains("s3:ListBucket")).ToList();
        Assert.Equal(2, listStatements.Count);
        Assert.All(listStatements, s => Assert.True(s.TryGetProperty("Condition", out _), "an unconditioned ListBucket would list the bucket root"));
        var prefixes = listStatements.SelectMany(s => s.GetProperty("Condition").EnumerateObject())
            .SelectMany(op => Strings(op.Value.GetProperty("s3:prefix")));
        Assert.All(prefixes, p => Assert.StartsWith("ws-user-github|12345/", p, StringComparison.Ordinal));
    }

    [Fact]
    public void Read_only_grants_get_and_nothing_that_writes()
    {
        var json = WorkspacePolicyBuilder.Build("b", Workspace, AccessLevel.ReadOnly);

        Assert.Contains("s3:GetObject", json, StringComparison.Ordinal);
        Assert.DoesNotContain("s3:PutObject", json, StringComparison.Ordinal);
        Assert.DoesNotContain("s3:DeleteObject", json, StringComparison.Ordinal);
        Assert.DoesNotContain("s3:*", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_is_compact_json_because_rgw_rejects_multi_line_session_policies()
    {
        var json = WorkspacePolicyBuilder.Build("b", Workspace, AccessLevel.ReadWrite);

        Assert.DoesNotContain('\n', json);
        Assert.StartsWith("{\"Version\":\"2012-10-17\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_delete_grants_get_and_delete_but_no_put()
    {
        using var policy = JsonDocument.Parse(WorkspacePolicyBuilder.Build("b", Workspace, AccessLevel.ReadDelete));

        var actions = Statements(policy).SelectMany(s => Strings(s.GetProperty("Action"))).ToList();
        Assert.Contains("s3:GetObject", actions);
        Assert.Contains("s3:DeleteObject", actions);
        Assert.Contains("s3:AbortMultipartUpload", actions);
        Assert.DoesNotContain("s3:PutObject", actions);
        Assert.DoesNotContain(actions, a => a.Contains('*', StringComparison.Ordinal));
        // Listing stays exactly as for ReadWrite: the over-quota workspace can still find what to delete.
        using var readWrite = JsonDocument.Parse(WorkspacePolicyBuilder.Build("b", Workspace, AccessLevel.ReadWrite));
        Assert.Equal(ListStatements(readWrite), ListStatements(policy));
    }

    [Theory]
    [InlineData(AccessLevel.ReadOnly)]
    [InlineData(AccessLevel.ReadWrite)]
    [InlineData(AccessLevel.ReadDelete)]
    public void No_access_level_reaches_a_workspace_whose_id_extends_this_one(AccessLevel access)
    {
        // "ws-a" against "ws-ab": the trailing '/' of the prefix is what keeps them apart.
        var a = WorkspaceId.Parse("ws-a");
        using var policy = JsonDocument.Parse(WorkspacePolicyBuilder.Build("b", a, access));

        var resources = Statements(policy).SelectMany(s => Strings(s.GetProperty("Resource"))).ToList();
        Assert.Contains("arn:aws:s3:::b/ws-a/*", resources);
        Assert.DoesNotContain(resources, r => Matches(r, "arn:aws:s3:::b/ws-ab/x"));
        Assert.DoesNotContain(resources, r => Matches(r, "arn:aws:s3:::b/ws-a"));
        var prefixes = Statements(policy).Where(s => s.TryGetProperty("Condition", out _))
            .SelectMany(s => s.GetProperty("Condition").EnumerateObject()).SelectMany(op => Strings(op.Value.GetProperty("s3:prefix")));
        Assert.DoesNotContain(prefixes, p => Matches(p, "ws-ab/") || Matches(p, "ws-ab"));
    }

    [Theory]
    [InlineData("../ws-ab")]
    [InlineData("ws-a/../ws-ab")]
    [InlineData("ws-a/..")]
    [InlineData("..")]
    public void A_workspace_id_with_a_path_step_never_reaches_the_policy_builder(string id)
    {
        Assert.False(WorkspaceId.TryParse(id, out _, out _));
    }

    [Fact]
    public void Every_access_level_has_its_own_object_actions()
    {
        foreach (var access in Enum.GetValues<AccessLevel>())
        {
            Assert.NotEmpty(WorkspacePolicyBuilder.ObjectActions(access));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => WorkspacePolicyBuilder.ObjectActions((AccessLevel)99));
    }

    /// <summary>IAM's wildcard match ('*' any run, '?' one character), as RGW and MinIO apply it to ARNs and s3:prefix.</summary>
    private static bool Matches(string pattern, string value) =>
        System.Text.RegularExpressions.Regex.IsMatch(value,
            "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$");

    private static string ListStatements(JsonDocument policy) =>
        string.Join("|", Statements(policy).Where(s => Strings(s.GetProperty("Action")).Contains("s3:ListBucket")).Select(s => s.GetRawText()));

    private static IEnumerable<JsonElement> Statements(JsonDocument policy) => policy.RootElement.GetProperty("Statement").EnumerateArray();

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];
}
