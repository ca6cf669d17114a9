using System.Globalization;
using System.Text.Json.Nodes;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Minio;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>
/// What the operator's MinIO backend leaves on a server, as the real mc shows it to an administrator: the workspace's
/// user, its policy confined to bucket/W/ (the statements of Hypha's MinIO model), the attachment, and the service
/// accounts (a long-lived key and temporary credentials with their expiry).
/// </summary>
public sealed class ProvisionedWorkspaceUnderMcTests
{
    private const string Bucket = "hypha-workspaces";

    [Fact]
    public async Task Mc_shows_the_user_its_workspace_policy_the_attachment_and_the_keys_with_expiry()
    {
        var tools = MinioClientTools.Require();
        var ct = TestContext.Current.CancellationToken;
        var workspace = WorkspaceId.Parse("ws-user-github|12345"); // a real Hypha id: '|' is no MinIO name character
        var names = BackendNames.For(workspace);
        await using var fake = new FakeMinioAdminServer();
        using var http = new HttpClient();
        var admin = new MinioAdminClient(http, new MinioAdminOptions
        {
            Endpoint = fake.Endpoint,
            AdminCredentials = new AwsCredentials(fake.AdminKey, fake.AdminSecret),
            Retry = new RetryOptions { AttemptTimeout = TimeSpan.FromSeconds(60), MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(10) },
        });
        var backend = new MinioStorageBackend(admin, new RecordingBucketOperations(), new S3Location(fake.Endpoint, fake.Endpoint, "us-east-1", Bucket),
            new LogCapture<MinioStorageBackend>());
        var key = AccessKeyGenerator.Generate();

        await backend.EnsureIdentityAsync(workspace, AccessLevel.ReadWrite, ct);
        await backend.EnsureKeyAsync(workspace, key, ct);
        var temporary = await backend.IssueTemporaryCredentialsAsync(workspace, AccessLevel.ReadOnly, TimeSpan.FromHours(2), ct);
        using var mc = new McCli(tools, fake.Endpoint, fake.AdminKey, fake.AdminSecret);

        var user = await mc.AdminAsync("user", "info", McCli.Alias, names.Identity);
        Assert.True(user.Succeeded, user.ToString());
        Assert.Equal(names.Identity, user.Message["accessKey"]?.GetValue<string>());
        Assert.Equal("enabled", user.Message["userStatus"]?.GetValue<string>());
        Assert.Equal(names.Policy, user.Message["policyName"]?.GetValue<string>()); // the attachment, and nothing else

        var policy = await mc.AdminAsync("policy", "info", McCli.Alias, names.Policy);
        Assert.True(policy.Succeeded, policy.ToString());
        AssertHyphaWorkspacePolicy(policy.Message["policyInfo"]!["Policy"]!, workspace.Prefix, readWrite: true);

        var entities = await mc.AdminAsync("policy", "entities", McCli.Alias, "--policy", names.Policy);
        Assert.True(entities.Succeeded, entities.ToString());
        Assert.Equal([names.Identity], Strings(entities.Message["result"]?["policyMappings"]?[0]?["users"]));

        var accounts = await mc.AdminAsync("user", "svcacct", "ls", McCli.Alias, names.Identity);
        Assert.True(accounts.Succeeded, accounts.ToString());
        var listed = accounts.Messages.ToDictionary(m => m["accessKey"]!.GetValue<string>(), m => Time(m["expiration"]));
        Assert.Equal(new Dictionary<string, DateTimeOffset?>
        {
            [key.AccessKeyId] = null, // mc prints no expiry for a key that never expires
            [temporary.Credentials.AccessKeyId] = temporary.Expiration,
        }, listed);

        var longLived = await mc.AdminAsync("user", "svcacct", "info", McCli.Alias, key.AccessKeyId);
        Assert.True(longLived.Succeeded, longLived.ToString());
        Assert.Equal(names.Identity, longLived.Message["parentUser"]?.GetValue<string>());
        Assert.True(longLived.Message["impliedPolicy"]?.GetValue<bool>()); // inherits the workspace policy, which mc prints
        AssertHyphaWorkspacePolicy(longLived.Message["policy"]!, workspace.Prefix, readWrite: true);
        Assert.Null(longLived.Message["expiration"]); // never expires

        var session = await mc.AdminAsync("user", "svcacct", "info", McCli.Alias, temporary.Credentials.AccessKeyId);
        Assert.True(session.Succeeded, session.ToString());
        Assert.Equal(names.Identity, session.Message["parentUser"]?.GetValue<string>());
        Assert.Equal(temporary.Expiration, Time(session.Message["expiration"]));
        Assert.StartsWith(MinioStorageBackend.TemporaryNamePrefix, session.Message["name"]?.GetValue<string>(), StringComparison.Ordinal);
        AssertHyphaWorkspacePolicy(session.Message["policy"]!, workspace.Prefix, readWrite: false); // the read-only session policy
    }

    /// <summary>
    /// The statements of hypha-s3-storage.md's MinIO model, read from what mc printed: bucket location, listing of W/
    /// only (root-and-home with delimiter, and W/*), and object actions under bucket/W/ only. Where Hypha grants s3:*
    /// on bucket/W and bucket/W/*, ours grants the object actions the access level needs on bucket/W/*.
    /// </summary>
    private static void AssertHyphaWorkspacePolicy(JsonNode document, string prefix, bool readWrite)
    {
        Assert.Equal("2012-10-17", document["Version"]?.GetValue<string>());
        var statements = document["Statement"]!.AsArray().Select(s => s!.AsObject()).ToDictionary(s => s["Sid"]!.GetValue<string>());
        Assert.Equal(
            ["AllowListingOfWorkspaceFolder", "AllowObjectActionsInWorkspaceFolder", "AllowRootAndHomeListingOfWorkspaceBucket", "AllowUserToSeeTheBucketInTheConsole"],
            statements.Keys.Order(StringComparer.Ordinal));
        Assert.All(statements.Values, s => Assert.Equal("Allow", s["Effect"]?.GetValue<string>()));

        var see = statements["AllowUserToSeeTheBucketInTheConsole"];
        AssertStatement(see, ["s3:GetBucketLocation"], [$"arn:aws:s3:::{Bucket}"]);

        var home = statements["AllowRootAndHomeListingOfWorkspaceBucket"];
        AssertStatement(home, ["s3:ListBucket"], [$"arn:aws:s3:::{Bucket}"]);
        Assert.Equal([prefix], Strings(home["Condition"]?["StringEquals"]?["s3:prefix"]));
        Assert.Equal(["/"], Strings(home["Condition"]?["StringEquals"]?["s3:delimiter"]));

        var folder = statements["AllowListingOfWorkspaceFolder"];
        AssertStatement(folder, ["s3:ListBucket"], [$"arn:aws:s3:::{Bucket}"]);
        Assert.Equal([prefix + "*"], Strings(folder["Condition"]?["StringLike"]?["s3:prefix"]));

        var objects = statements["AllowObjectActionsInWorkspaceFolder"];
        Assert.Equal([$"arn:aws:s3:::{Bucket}/{prefix}*"], Strings(objects["Resource"]));
        Assert.Equal(readWrite ? ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"] : ["s3:GetObject"],
            Strings(objects["Action"]).Order(StringComparer.Ordinal));
    }

    private static void AssertStatement(JsonObject statement, string[] actions, string[] resources)
    {
        Assert.Equal(actions, Strings(statement["Action"]));
        Assert.Equal(resources, Strings(statement["Resource"]));
    }

    /// <summary>A string or an array of strings (IAM allows both), as a list.</summary>
    private static IReadOnlyList<string> Strings(JsonNode? node) => node switch
    {
        JsonArray array => [.. array.Select(n => n!.GetValue<string>())],
        JsonValue value => [value.GetValue<string>()],
        _ => [],
    };

    private static DateTimeOffset? Time(JsonNode? node) =>
        node is null ? null : DateTimeOffset.Parse(node.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
