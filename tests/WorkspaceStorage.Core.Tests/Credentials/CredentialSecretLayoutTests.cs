using System.Text;
using System.Text.Json;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Tests.Credentials;

public sealed class CredentialSecretLayoutTests
{
    private static readonly AwsCredentials Key = new("AKIAWORKSPACE0000001", "s3cr3tKeyThatMustNeverBeLogged0000000000");

    private static CredentialSecretContent Content(params SecretKeySet[] keySets) => new(
        "http://127.0.0.1:7480/",
        "us-east-1",
        "hypha-workspaces",
        WorkspaceId.Parse("ws-user-github|12345"),
        Key,
        (keySets.Length == 0 ? SecretSpec.AllKeySets : keySets).ToHashSet(),
        AddressingStyle.Path);

    private static string Text(IDictionary<string, byte[]> data, string key) => Encoding.UTF8.GetString(data[key]);

    [Fact]
    public void All_key_sets_write_every_format()
    {
        var data = CredentialSecretLayout.Build(Content());

        Assert.Equal(
            [
                "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_SECRET_ACCESS_KEY",
                "COSI_S3_ACCESS_KEY_ID", "COSI_S3_ACCESS_SECRET_KEY", "COSI_S3_ADDRESSING_STYLE", "COSI_S3_BUCKET_ID", "COSI_S3_ENDPOINT", "COSI_S3_REGION",
                "S3_ADDRESSING_STYLE", "S3_BUCKET", "S3_ENDPOINT", "S3_PREFIX", "credential.json",
            ],
            data.Keys);
        Assert.Equal("AKIAWORKSPACE0000001", Text(data, "AWS_ACCESS_KEY_ID"));
        Assert.Equal(Key.SecretAccessKey, Text(data, "AWS_SECRET_ACCESS_KEY"));
        Assert.Equal("http://127.0.0.1:7480", Text(data, "AWS_ENDPOINT_URL"));
        Assert.Equal("us-east-1", Text(data, "AWS_REGION"));
        Assert.Equal("us-east-1", Text(data, "AWS_DEFAULT_REGION"));
        Assert.Equal("hypha-workspaces", Text(data, "S3_BUCKET"));
        Assert.Equal("ws-user-github|12345/", Text(data, "S3_PREFIX"));
        Assert.Equal("http://127.0.0.1:7480", Text(data, "S3_ENDPOINT"));
        Assert.Equal("path", Text(data, "S3_ADDRESSING_STYLE"));
        Assert.Equal("http://127.0.0.1:7480", Text(data, "COSI_S3_ENDPOINT"));
        Assert.Equal("hypha-workspaces", Text(data, "COSI_S3_BUCKET_ID"));
        Assert.Equal("us-east-1", Text(data, "COSI_S3_REGION"));
        Assert.Equal(Key.AccessKeyId, Text(data, "COSI_S3_ACCESS_KEY_ID"));
        Assert.Equal(Key.SecretAccessKey, Text(data, "COSI_S3_ACCESS_SECRET_KEY"));
        Assert.Equal("Path", Text(data, "COSI_S3_ADDRESSING_STYLE"));
    }

    [Fact]
    public void Hypha_json_has_the_generate_credential_shape()
    {
        var data = CredentialSecretLayout.Build(Content(SecretKeySet.Hypha));

        var json = JsonDocument.Parse(data["credential.json"]).RootElement;
        Assert.Equal(["endpoint_url", "access_key_id", "secret_access_key", "region_name", "bucket", "prefix"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("http://127.0.0.1:7480", json.GetProperty("endpoint_url").GetString());
        Assert.Equal(Key.AccessKeyId, json.GetProperty("access_key_id").GetString());
        Assert.Equal(Key.SecretAccessKey, json.GetProperty("secret_access_key").GetString());
        Assert.Equal("us-east-1", json.GetProperty("region_name").GetString());
        Assert.Equal("hypha-workspaces", json.GetProperty("bucket").GetString());
        Assert.Equal("ws-user-github|12345/", json.GetProperty("prefix").GetString());
        Assert.Single(data);
    }

    [Fact]
    public void Only_the_chosen_key_sets_are_written()
    {
        var data = CredentialSecretLayout.Build(Content(SecretKeySet.S3));
        Assert.Equal(["S3_ADDRESSING_STYLE", "S3_BUCKET", "S3_ENDPOINT", "S3_PREFIX"], data.Keys);
    }

    [Fact]
    public void Virtual_addressing_is_spelled_as_each_consumer_expects()
    {
        var data = CredentialSecretLayout.Build(Content() with { AddressingStyle = AddressingStyle.Virtual });
        Assert.Equal("Virtual", Text(data, "COSI_S3_ADDRESSING_STYLE"));
        Assert.Equal("virtual", Text(data, "S3_ADDRESSING_STYLE"));
    }

    [Fact]
    public void Session_credentials_and_empty_key_sets_are_refused()
    {
        Assert.Throws<ArgumentException>(() => CredentialSecretLayout.Build(Content() with { Credentials = Key with { SessionToken = "token" } }));
        Assert.Throws<ArgumentException>(() => CredentialSecretLayout.Build(Content() with { KeySets = new HashSet<SecretKeySet>() }));
    }

    [Theory]
    [InlineData(SecretKeySet.Aws)]
    [InlineData(SecretKeySet.Cosi)]
    [InlineData(SecretKeySet.Hypha)]
    public void Current_key_is_read_back_from_any_key_set(SecretKeySet keySet)
    {
        var data = CredentialSecretLayout.Build(Content(keySet));
        Assert.Equal(Key, CredentialSecretLayout.ReadCredentials(data));
    }

    [Fact]
    public void No_key_is_read_from_a_secret_without_one()
    {
        Assert.Null(CredentialSecretLayout.ReadCredentials(CredentialSecretLayout.Build(Content(SecretKeySet.S3))));
        Assert.Null(CredentialSecretLayout.ReadCredentials(null));
        Assert.Null(CredentialSecretLayout.ReadCredentials(new Dictionary<string, byte[]> { ["AWS_ACCESS_KEY_ID"] = "id"u8.ToArray(), ["AWS_SECRET_ACCESS_KEY"] = [] }));
        Assert.Null(CredentialSecretLayout.ReadCredentials(new Dictionary<string, byte[]> { ["credential.json"] = "{not json"u8.ToArray() }));
    }

    [Fact]
    public void Hand_edited_secret_whose_formats_disagree_reads_as_no_key()
    {
        var data = CredentialSecretLayout.Build(Content());
        data["COSI_S3_ACCESS_KEY_ID"] = "AKIAOTHER"u8.ToArray();
        Assert.Null(CredentialSecretLayout.ReadCredentials(data));
    }

    [Fact]
    public void Bring_your_own_key_is_read_from_the_named_keys()
    {
        var data = new Dictionary<string, byte[]> { ["id"] = "AKIAUSER\n"u8.ToArray(), ["secret"] = "usersecret"u8.ToArray() };
        Assert.Equal(new AwsCredentials("AKIAUSER", "usersecret"), CredentialSecretLayout.ReadCredentials(data, "id", "secret"));
        Assert.Null(CredentialSecretLayout.ReadCredentials(data, "AWS_ACCESS_KEY_ID", "secret"));
    }

    [Fact]
    public void Content_hash_is_stable_and_changes_with_any_byte()
    {
        var a = CredentialSecretLayout.Build(Content());
        var b = CredentialSecretLayout.Build(Content());
        Assert.Equal(CredentialSecretLayout.ContentHash(a), CredentialSecretLayout.ContentHash(b));
        Assert.Matches("^[0-9a-f]{64}$", CredentialSecretLayout.ContentHash(a));
        Assert.True(CredentialSecretLayout.SameContent(a, b));

        var rotated = CredentialSecretLayout.Build(Content() with { Credentials = new AwsCredentials(Key.AccessKeyId, Key.SecretAccessKey[..^1] + "1") });
        Assert.NotEqual(CredentialSecretLayout.ContentHash(a), CredentialSecretLayout.ContentHash(rotated));
        Assert.False(CredentialSecretLayout.SameContent(a, rotated));
    }

    [Fact]
    public void Content_hash_does_not_depend_on_key_order_but_does_on_key_boundaries()
    {
        var forward = new Dictionary<string, byte[]> { ["a"] = "1"u8.ToArray(), ["b"] = "2"u8.ToArray() };
        var backward = new Dictionary<string, byte[]> { ["b"] = "2"u8.ToArray(), ["a"] = "1"u8.ToArray() };
        var shifted = new Dictionary<string, byte[]> { ["a1"] = [], ["b"] = "2"u8.ToArray() };
        Assert.Equal(CredentialSecretLayout.ContentHash(forward), CredentialSecretLayout.ContentHash(backward));
        Assert.NotEqual(CredentialSecretLayout.ContentHash(forward), CredentialSecretLayout.ContentHash(shifted));
    }

    [Fact]
    public void Extra_keys_in_the_live_secret_count_as_a_difference()
    {
        var desired = CredentialSecretLayout.Build(Content());
        var live = new Dictionary<string, byte[]>(desired) { ["EXTRA"] = [] };
        Assert.False(CredentialSecretLayout.SameContent(live, desired));
        Assert.False(CredentialSecretLayout.SameContent(null, desired));
    }

    [Fact]
    public void Content_and_credentials_never_print_the_secret_key()
    {
        Assert.DoesNotContain(Key.SecretAccessKey, Content().ToString(), StringComparison.Ordinal);
    }
}
