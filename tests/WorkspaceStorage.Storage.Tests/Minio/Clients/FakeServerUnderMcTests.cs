using System.Globalization;
using System.Text.Json.Nodes;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>
/// The fake MinIO admin server used by the backend's tests, driven by the real mc (2025) with real signatures and real
/// encrypted payloads: every operation of issue 12 must succeed and leave the state mc then reads back. Where mc fails
/// against the fake, the fake is wrong, and the backend's tests would stand on sand.
/// </summary>
public sealed class FakeServerUnderMcTests
{
    private const string SessionPolicy =
        """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/alice/*"]}]}""";

    private const string UserPolicy = """
        {
          "Version": "2012-10-17",
          "Statement": [
            { "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::b/alice/*"] }
          ]
        }
        """;

    [Fact]
    public async Task Every_mc_operation_of_the_issue_succeeds_and_reads_back()
    {
        var tools = MinioClientTools.Require();
        await using var fake = new FakeMinioAdminServer("fakeadmin", "fake-admin/secret+1=");
        using var mc = new McCli(tools, fake.Endpoint, fake.AdminKey, fake.AdminSecret);
        var expiry = DateTimeOffset.UtcNow.AddDays(30);
        expiry = new DateTimeOffset(expiry.Year, expiry.Month, expiry.Day, expiry.Hour, expiry.Minute, expiry.Second, TimeSpan.Zero);
        var expiryText = expiry.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var failures = new List<string>();

        async Task<McResult> Step(string[] arguments, Action<McResult> check)
        {
            var result = await mc.AdminAsync(arguments);
            try
            {
                Assert.True(result.Succeeded, "failed");
                check(result);
            }
            catch (Exception ex) when (ex is Xunit.Sdk.XunitException or NullReferenceException or InvalidOperationException)
            {
                failures.Add($"mc admin {result.Command}: {ex.Message.Split('\n')[0]} ({result.Stdout.Trim()} {result.Stderr.Trim()})");
            }

            return result;
        }

        await Step(["info", McCli.Alias], r => Assert.Equal("online", r.Message["info"]?["mode"]?.GetValue<string>()));
        await Step(["user", "add", McCli.Alias, "alice", "alice-secret-1"], _ => Assert.Equal("alice-secret-1", fake.Users["alice"].Secret));
        await Step(["user", "info", McCli.Alias, "alice"], r =>
        {
            Assert.Equal("alice", r.Message["accessKey"]?.GetValue<string>());
            Assert.Equal("enabled", r.Message["userStatus"]?.GetValue<string>());
        });
        await Step(["policy", "create", McCli.Alias, "alice-policy", mc.WriteFile("user-policy.json", UserPolicy)],
            _ => Assert.True(PolicyDocumentComparer.AreEquivalent(UserPolicy, fake.Policies["alice-policy"])));
        await Step(["policy", "info", McCli.Alias, "alice-policy"], r =>
        {
            Assert.Equal("alice-policy", r.Message["policyInfo"]?["policy"]?.GetValue<string>() ?? r.Message["policy"]?.GetValue<string>());
            Assert.True(PolicyDocumentComparer.AreEquivalent(UserPolicy, r.Message["policyInfo"]!["Policy"]!.ToJsonString()));
        });
        await Step(["policy", "attach", McCli.Alias, "alice-policy", "--user", "alice"], _ => Assert.Equal(["alice-policy"], fake.Users["alice"].Policies));
        await Step(["user", "info", McCli.Alias, "alice"], r => Assert.Equal("alice-policy", r.Message["policyName"]?.GetValue<string>()));
        await Step(
        [
            "user", "svcacct", "add", McCli.Alias, "alice", "--access-key", "alice-key-1", "--secret-key", "alice-key-secret-1",
            "--policy", mc.WriteFile("session-policy.json", SessionPolicy), "--expiry", expiryText, "--name", "temporary-1", "--description", "for the test",
        ], r =>
        {
            Assert.Equal("alice-key-1", r.Message["accessKey"]?.GetValue<string>());
            Assert.Equal(expiry, ParseTime(r.Message["expiration"]));
            var account = fake.ServiceAccounts["alice-key-1"];
            Assert.Equal(("alice", "alice-key-secret-1", expiry), (account.Parent, account.Secret, account.Expiration));
            Assert.True(PolicyDocumentComparer.AreEquivalent(SessionPolicy, account.SessionPolicy!));
        });
        await Step(["user", "svcacct", "info", McCli.Alias, "alice-key-1"], r =>
        {
            Assert.Equal("alice", r.Message["parentUser"]?.GetValue<string>());
            Assert.Equal(expiry, ParseTime(r.Message["expiration"]));
            Assert.Equal(("temporary-1", "for the test"), (r.Message["name"]?.GetValue<string>(), r.Message["description"]?.GetValue<string>()));
            Assert.Null(r.Message["impliedPolicy"]); // false is left out: the account has its own (session) policy
            Assert.True(PolicyDocumentComparer.AreEquivalent(SessionPolicy, r.Message["policy"]!.ToJsonString()));
        });
        await Step(["user", "svcacct", "ls", McCli.Alias, "alice"], r =>
        {
            var listed = Assert.Single(r.Messages);
            Assert.Equal("alice-key-1", listed["accessKey"]?.GetValue<string>());
            Assert.Equal(expiry, ParseTime(listed["expiration"]));
        });
        // Beyond the issue's list: the other commands over the endpoints the backend uses.
        await Step(["user", "ls", McCli.Alias], r => Assert.Contains(r.Messages, m => m["accessKey"]?.GetValue<string>() == "alice"));
        await Step(["policy", "ls", McCli.Alias], r => Assert.Contains(r.Messages, m => m["policy"]?.GetValue<string>() == "alice-policy"));
        await Step(["policy", "entities", McCli.Alias, "--user", "alice", "--policy", "alice-policy"], r =>
        {
            var result = r.Message["result"];
            Assert.Equal("alice-policy", result?["userMappings"]?[0]?["policies"]?[0]?.GetValue<string>());
            Assert.Equal("alice", result?["policyMappings"]?[0]?["users"]?[0]?.GetValue<string>());
        });
        await Step(["user", "disable", McCli.Alias, "alice"], _ => Assert.False(fake.Users["alice"].Enabled));
        await Step(["user", "enable", McCli.Alias, "alice"], _ => Assert.True(fake.Users["alice"].Enabled));
        await Step(["user", "svcacct", "edit", McCli.Alias, "alice-key-1", "--secret-key", "alice-key-secret-2"],
            _ => Assert.Equal("alice-key-secret-2", fake.ServiceAccounts["alice-key-1"].Secret));
        await Step(["user", "svcacct", "disable", McCli.Alias, "alice-key-1"], _ => Assert.False(fake.ServiceAccounts["alice-key-1"].Enabled));
        await Step(["user", "svcacct", "enable", McCli.Alias, "alice-key-1"], _ => Assert.True(fake.ServiceAccounts["alice-key-1"].Enabled));
        await Step(["accesskey", "ls", McCli.Alias, "alice"], r => Assert.Contains("alice-key-1", r.Stdout, StringComparison.Ordinal));
        await Step(["accesskey", "info", McCli.Alias, "alice-key-1"], r => Assert.Equal("alice", r.Message["parentUser"]?.GetValue<string>()));
        await Step(["user", "svcacct", "rm", McCli.Alias, "alice-key-1"], _ => Assert.Empty(fake.ServiceAccounts));
        // Hypha's own model: a group per workspace with the workspace policy attached to it.
        await Step(["group", "add", McCli.Alias, "ws-alice", "alice"], _ => Assert.Equal(["alice"], fake.Groups["ws-alice"].Members));
        await Step(["policy", "attach", McCli.Alias, "alice-policy", "--group", "ws-alice"], _ => Assert.Equal(["alice-policy"], fake.Groups["ws-alice"].Policies));
        await Step(["group", "info", McCli.Alias, "ws-alice"], r =>
        {
            Assert.Equal(["alice"], r.Message["members"]!.AsArray().Select(m => m!.GetValue<string>()));
            Assert.Equal("alice-policy", r.Message["groupPolicy"]?.GetValue<string>());
        });
        await Step(["group", "ls", McCli.Alias], r => Assert.Contains("ws-alice", r.Message["groups"]!.AsArray().Select(g => g!.GetValue<string>())));
        await Step(["user", "info", McCli.Alias, "alice"], r => Assert.Equal("ws-alice", r.Message["memberOf"]?[0]?["name"]?.GetValue<string>()));
        await Step(["group", "disable", McCli.Alias, "ws-alice"], _ => Assert.Equal("disabled", fake.Groups["ws-alice"].Status));
        await Step(["group", "enable", McCli.Alias, "ws-alice"], _ => Assert.Equal("enabled", fake.Groups["ws-alice"].Status));
        await Step(["policy", "detach", McCli.Alias, "alice-policy", "--group", "ws-alice"], _ => Assert.Empty(fake.Groups["ws-alice"].Policies));
        await Step(["group", "rm", McCli.Alias, "ws-alice", "alice"], _ => Assert.Empty(fake.Groups["ws-alice"].Members));
        await Step(["group", "rm", McCli.Alias, "ws-alice"], _ => Assert.DoesNotContain("ws-alice", fake.Groups.Keys));
        await Step(["policy", "detach", McCli.Alias, "alice-policy", "--user", "alice"], _ => Assert.Empty(fake.Users["alice"].Policies));
        await Step(["policy", "rm", McCli.Alias, "alice-policy"], _ => Assert.DoesNotContain("alice-policy", fake.Policies.Keys));
        await Step(["user", "rm", McCli.Alias, "alice"], _ => Assert.DoesNotContain("alice", fake.Users.Keys));

        var gone = await mc.AdminAsync("user", "info", McCli.Alias, "alice");
        Assert.False(gone.Succeeded, gone.ToString());
        Assert.True(failures.Count == 0, $"{failures.Count} mc commands failed against the fake:\n{string.Join('\n', failures)}");
    }

    private static DateTimeOffset? ParseTime(JsonNode? node) =>
        node is null ? null : DateTimeOffset.Parse(node.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
