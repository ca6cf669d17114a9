using WorkspaceStorage.Operator.Runtime;

namespace WorkspaceStorage.Operator.Tests.Runtime;

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
