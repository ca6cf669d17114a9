using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>
/// The MinIO admin policy in docs/deploy.md allows every admin call the minio backend makes, and names no action it does
/// not need. Which action each call needs is what MinIO's handler checks (cmd/admin-handlers-users.go,
/// cmd/admin-handlers.go: validateAdminReq accepts any one of the actions it is given); no MinIO server runs here, so
/// the calls come from a workspace's whole life on <see cref="FakeMinioAdminServer"/>.
/// </summary>
public sealed partial class MinioAdminPolicyDocTests
{
    /// <summary>Admin command → the actions MinIO accepts for it (any one is enough).</summary>
    private static readonly Dictionary<string, string[]> ActionsOf = new(StringComparer.Ordinal)
    {
        ["info"] = ["admin:ServerInfo"],
        ["add-user"] = ["admin:CreateUser"],
        ["user-info"] = ["admin:GetUser"],
        ["set-user-status"] = ["admin:EnableUser"],
        ["remove-user"] = ["admin:DeleteUser"],
        ["add-canned-policy"] = ["admin:CreatePolicy"],
        ["info-canned-policy"] = ["admin:GetPolicy"],
        ["remove-canned-policy"] = ["admin:DeletePolicy"],
        ["idp/builtin/policy/attach"] = ["admin:AttachUserOrGroupPolicy", "admin:UpdatePolicyAssociation"],
        ["idp/builtin/policy/detach"] = ["admin:AttachUserOrGroupPolicy", "admin:UpdatePolicyAssociation"],
        ["set-user-or-group-policy"] = ["admin:AttachUserOrGroupPolicy"],
        ["idp/builtin/policy-entities"] = ["admin:ListUserPolicies", "admin:ListUsers", "admin:ListGroups"],
        ["add-service-account"] = ["admin:CreateServiceAccount"],
        ["update-service-account"] = ["admin:UpdateServiceAccount"],
        ["info-service-account"] = ["admin:ListServiceAccounts"],
        ["list-service-accounts"] = ["admin:ListServiceAccounts"],
        ["delete-service-account"] = ["admin:RemoveServiceAccount"],
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a server before 2023-01: attach answers 426, the backend falls back to set-user-or-group-policy
    public async Task The_docs_policy_allows_every_admin_call_of_a_workspaces_whole_life(bool legacyPolicyMapping)
    {
        var allowed = DocAdminActions();
        await using var fake = new FakeMinioAdminServer { LegacyPolicyMapping = legacyPolicyMapping };
        using var http = new HttpClient();
        var backend = new MinioStorageBackend(
            new MinioAdminClient(http, new MinioAdminOptions
            {
                Endpoint = fake.Endpoint,
                AdminCredentials = new AwsCredentials(fake.AdminKey, fake.AdminSecret),
                Retry = new RetryOptions { AttemptTimeout = TimeSpan.FromSeconds(20), MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(10) },
            }, NullBackendCallObserver.Instance),
            new RecordingBucketOperations(), new S3Location(fake.Endpoint, fake.Endpoint, "us-east-1", "hypha-workspaces"),
            NullLogger<MinioStorageBackend>.Instance);
        var w = WorkspaceId.Parse("ws-user-alice");

        Assert.True((await backend.CheckHealthAsync(Ct)).Healthy);
        await backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct);
        var key = AccessKeyGenerator.Generate();
        await backend.EnsureKeyAsync(w, key, Ct);
        await backend.EnsureKeyAsync(w, AccessKeyGenerator.Generate(), Ct);
        await backend.RevokeKeyAsync(w, key.AccessKeyId, Ct);
        await backend.IssueTemporaryCredentialsAsync(w, AccessLevel.ReadOnly, TimeSpan.FromHours(1), Ct);
        await backend.EnsureIdentityAsync(w, AccessLevel.ReadOnly, Ct); // drift: the policy changes
        // Someone attached the workspace policy to a user of their own: deletion detaches it (policy-entities) first.
        fake.Users["hand-made-user"] = new FakeUser { Secret = "hand-made-secret" };
        fake.Users["hand-made-user"].Policies.Add(BackendNames.For(w).Policy);
        Assert.Equal(EnsureOutcome.Deleted, await backend.DeleteWorkspaceAsync(w, DataDeletion.Delete, Ct));

        // The unsigned liveness probe (/minio/health/live) needs no action.
        var commands = fake.Requests.Where(r => r.Path.StartsWith(MinioAdminClient.AdminPathPrefix, StringComparison.Ordinal))
            .Select(r => r.Command).Distinct(StringComparer.Ordinal).ToList();
        Assert.Contains("idp/builtin/policy-entities", commands);
        Assert.Contains(legacyPolicyMapping ? "set-user-or-group-policy" : "idp/builtin/policy/attach", commands);
        foreach (var command in commands)
        {
            Assert.True(ActionsOf.TryGetValue(command, out var actions), $"the minio backend calls {command}: say which MinIO action it needs, and put it in docs/deploy.md's policy");
            Assert.True(actions.Any(allowed.Contains), $"docs/deploy.md's MinIO policy allows none of {string.Join(", ", actions)}, which {command} needs");
        }
    }

    [Fact]
    public void The_docs_policy_names_no_admin_action_the_backend_does_not_need()
    {
        var needed = ActionsOf.Values.SelectMany(a => a).ToHashSet(StringComparer.Ordinal);
        Assert.All(DocAdminActions(), action => Assert.Contains(action, needed));
    }

    /// <summary>The admin:* actions of the MinIO policy (the ```json block with the WorkspaceIdentities statement) in docs/deploy.md.</summary>
    private static HashSet<string> DocAdminActions()
    {
        var doc = File.ReadAllText(RepositoryRoot.Combine("docs", "deploy.md"));
        var block = Assert.Single(JsonBlock().Matches(doc), m => m.Groups[1].Value.Contains("\"WorkspaceIdentities\"", StringComparison.Ordinal));
        var policy = JsonNode.Parse(block.Groups[1].Value)!;
        return policy["Statement"]!.AsArray()
            .SelectMany(s => s!["Action"]!.AsArray().Select(a => a!.GetValue<string>()))
            .Where(a => a.StartsWith("admin:", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex("```json\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();
}
