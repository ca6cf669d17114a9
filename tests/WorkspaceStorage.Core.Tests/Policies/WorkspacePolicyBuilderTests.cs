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

    private static IEnumerable<JsonElement> Statements(JsonDocument policy) => policy.RootElement.GetProperty("Statement").EnumerateArray();

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];
}
