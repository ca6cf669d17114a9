using k8s.Models;
using WorkspaceStorage.Core.Model;

namespace WorkspaceStorage.Resources.Tests;

public sealed class StorageBackendValidatorTests
{
    private static StorageBackendResource Backend(StorageBackendSpec spec) => new() { Metadata = new V1ObjectMeta { Name = "ceph" }, Spec = spec };

    private static StorageBackendSpec ValidSpec() => new()
    {
        Type = StorageBackendType.CephRgw,
        Endpoint = "http://127.0.0.1:7480",
        AdminCredentialsSecretRef = new AdminCredentialsSecretReference { Name = "rgw-admin", Namespace = "workspace-storage-system" },
    };

    private static FieldError SingleError(StorageBackendSpec spec)
    {
        var result = ResourceModel.Validate(Backend(spec));
        Assert.False(result.IsValid);
        return Assert.Single(result.Errors);
    }

    [Fact]
    public void Valid_backend_resolves_defaults_and_public_endpoint()
    {
        var resolved = ResourceModel.Validate(Backend(ValidSpec())).Value!;

        Assert.Equal("ceph", resolved.Name);
        Assert.Equal(StorageBackendType.CephRgw, resolved.Type);
        Assert.Equal("http://127.0.0.1:7480", resolved.Endpoint);
        Assert.Equal("http://127.0.0.1:7480", resolved.PublicEndpoint);
        Assert.Equal("us-east-1", resolved.Region);
        Assert.Equal("hypha-workspaces", resolved.Bucket);
        Assert.True(resolved.PathStyle);
        Assert.Equal("AWS_ACCESS_KEY_ID", resolved.AdminCredentialsSecret.AccessKeyIdKey);
    }

    [Fact]
    public void Public_endpoint_is_normalised_without_trailing_slash()
    {
        var resolved = ResourceModel.Validate(Backend(ValidSpec() with { PublicEndpoint = "https://s3.example.org/" })).Value!;
        Assert.Equal("https://s3.example.org", resolved.PublicEndpoint);
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("127.0.0.1:7480", "http")]
    [InlineData("ftp://host", "must use http or https")]
    [InlineData("http://admin:secret@host", "user info")]
    [InlineData("http://host/bucket", "must not have a path")]
    [InlineData("http://host?x=1", "query")]
    public void Endpoint_must_be_a_plain_http_url(string endpoint, string rule)
    {
        var error = SingleError(ValidSpec() with { Endpoint = endpoint });
        Assert.Equal("spec.endpoint", error.Field);
        Assert.Contains(rule, error.Rule, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.ToString().Replace("user info", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("Upper-Case")]
    [InlineData("192.168.1.1")]
    [InlineData("a..b")]
    [InlineData("-leading")]
    public void Bucket_follows_s3_naming_rules(string bucket)
    {
        Assert.Equal("spec.bucket", SingleError(ValidSpec() with { Bucket = bucket }).Field);
    }

    [Fact]
    public void Region_and_admin_secret_are_checked()
    {
        var result = ResourceModel.Validate(Backend(ValidSpec() with
        {
            Region = "eu west",
            AdminCredentialsSecretRef = new AdminCredentialsSecretReference { Name = "", Namespace = "Not_A_Label", SecretAccessKeyKey = "a/b" },
        }));

        var fields = result.Errors.Select(e => e.Field).ToArray();
        Assert.Equal(["spec.region", "spec.adminCredentialsSecretRef.name", "spec.adminCredentialsSecretRef.namespace", "spec.adminCredentialsSecretRef.secretAccessKeyKey"], fields);
    }

    [Fact]
    public void Ca_bundle_must_parse()
    {
        var error = SingleError(ValidSpec() with { CaBundle = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n" });
        Assert.Equal("spec.caBundle", error.Field);
        Assert.Contains("PEM", error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Ca_bundle_with_a_real_certificate_is_accepted()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=test-ca", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var pem = certificate.ExportCertificatePem();

        Assert.True(ResourceModel.Validate(Backend(ValidSpec() with { CaBundle = pem })).IsValid);
    }
}
