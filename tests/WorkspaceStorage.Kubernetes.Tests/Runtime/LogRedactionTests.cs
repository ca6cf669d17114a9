using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

public sealed class LogRedactionTests
{
    [Theory]
    [InlineData("secretKey=wJalrXUtnFEMI/K7MDENG", "wJalrXUtnFEMI")]
    [InlineData("{\"SecretAccessKey\": \"abc123xyz\"}", "abc123xyz")]
    [InlineData("x-amz-security-token: FQoGZXIvYXdzEJr", "FQoGZXIvYXdzEJr")]
    [InlineData("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "eyJhbGciOiJIUzI1NiJ9")]
    [InlineData("password=hunter2&user=x", "hunter2")]
    [InlineData("url ?X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef")]
    [InlineData("the key is AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMIK7MDENGbPxRfiCY inline", "AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMIK7MDENGbPxRfiCY")]
    public void Secret_looking_values_are_masked(string message, string secret)
    {
        var redacted = LogRedaction.Redact(message);

        Assert.DoesNotContain(secret, redacted, StringComparison.Ordinal);
        Assert.Contains("***", redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void Ordinary_messages_stay_readable()
    {
        const string message = "bucket workspaces does not exist (404 NoSuchBucket) for workspace ws-user-1";

        Assert.Equal(message, LogRedaction.Redact(message));
    }
}

public sealed class ResourceDescriptorTests
{
    [Fact]
    public void A_descriptor_is_read_from_the_model_attribute_and_core_types_map_to_the_core_group()
    {
        Assert.Equal(Widget.Descriptor, ResourceDescriptor.For<Widget>(namespaced: true));
        Assert.Equal(ResourceDescriptor.Secrets, ResourceDescriptor.For<k8s.Models.V1Secret>(namespaced: true));
        Assert.Equal("v1", ResourceDescriptor.Secrets.ApiVersion);
        Assert.Throws<ArgumentException>(() => ResourceDescriptor.For<string>(namespaced: true));
    }

    [Fact]
    public void Keys_print_and_parse_as_namespace_slash_name()
    {
        Assert.Equal("ns/a", new ResourceKey("ns", "a").ToString());
        Assert.Equal("cluster-wide", new ResourceKey(null, "cluster-wide").ToString());
        Assert.Equal(new ResourceKey("ns", "a"), ResourceKey.Parse("ns/a"));
        Assert.Null(ResourceKey.Parse("b").Namespace);
        Assert.Equal(new ResourceKey(null, "x"), new ResourceKey("", "x"));
    }
}
