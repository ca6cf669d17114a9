using System.Text;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Iam;

namespace WorkspaceStorage.Storage.Tests.CephRgw;

/// <summary>RGW answers and names, checked without a server.</summary>
public sealed class RgwParsingTests
{
    [Fact]
    public void Nanosecond_expirations_from_RGW_are_read_to_the_tick()
    {
        var parsed = StsClient.ParseExpiration("2026-11-23T23:29:27.788981995Z");
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 23, 29, 27, TimeSpan.Zero).AddTicks(7889819), parsed);
        Assert.Equal(TimeSpan.Zero, parsed.Offset);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), StsClient.ParseExpiration("2026-01-02T03:04:05Z"));
    }

    [Fact]
    public void A_parsed_user_never_prints_its_secret_keys()
    {
        var body = """{"tenant":"","user_id":"wso-ws-a","display_name":"ws-a","suspended":0,"max_buckets":-1,"keys":[{"user":"wso-ws-a","access_key":"AKIAEXAMPLE000000000","secret_key":"TopSecretValue1234567890"}]}""";
        var user = RgwUser.Parse(Encoding.UTF8.GetBytes(body));
        Assert.Equal(-1, user.MaxBuckets);
        Assert.Equal("arn:aws:iam:::user/wso-ws-a", user.Arn);
        Assert.Equal("TopSecretValue1234567890", user.Keys.Single().SecretKey);
        Assert.DoesNotContain("TopSecret", user.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("TopSecret", user.Keys.Single().ToString(), StringComparison.Ordinal);
        Assert.Contains("AKIAEXAMPLE000000000", user.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreadable_user_answer_does_not_echo_the_body()
    {
        var error = Assert.Throws<Backends.BackendRequestRejectedException>(() =>
            RgwUser.Parse(Encoding.UTF8.GetBytes("""{"keys":[{"secret_key":"TopSecretValue"}]""")));
        Assert.DoesNotContain("TopSecret", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ws-a|b")]
    [InlineData("ws-user-github|12345")]
    [InlineData("ws-a-b")]
    public void Role_and_policy_names_avoid_the_characters_RGW_refuses(string id)
    {
        var names = RgwNames.For(WorkspaceId.Parse(id), CephRgwStorageBackend.MaxNameLength);
        foreach (var name in new[] { names.Role, names.Policy })
        {
            Assert.Matches("^[A-Za-z0-9=,.@-]{1,64}$", name);
        }
    }

    [Fact]
    public void Pipe_and_hyphen_ids_map_to_different_names_everywhere()
    {
        var piped = RgwNames.For(WorkspaceId.Parse("ws-a|b"), CephRgwStorageBackend.MaxNameLength);
        var hyphened = RgwNames.For(WorkspaceId.Parse("ws-a-b"), CephRgwStorageBackend.MaxNameLength);
        Assert.NotEqual(piped.Identity, hyphened.Identity);
        Assert.NotEqual(piped.Role, hyphened.Role);
        Assert.NotEqual(piped.Policy, hyphened.Policy);
    }
}
