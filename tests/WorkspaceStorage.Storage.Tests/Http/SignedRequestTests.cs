using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.Tests;

public sealed class SignedRequestTests
{
    [Fact]
    public void Printing_a_request_shows_no_secret_from_its_query_credentials_or_body()
    {
        var request = new SignedRequest(HttpMethod.Put, "http://127.0.0.1:7480/admin/user?key&uid=u&access-key=AK&secret-key=query-secret-value",
            new AwsCredentials("ADMINAK", "admin-secret-value"), new SigV4Scope("us-east-1", "s3"), "add-key", IsWrite: true,
            Body: "{\"secretKey\":\"body-secret-value\"}"u8.ToArray());

        var text = request.ToString();

        Assert.DoesNotContain("query-secret-value", text, StringComparison.Ordinal);
        Assert.DoesNotContain("admin-secret-value", text, StringComparison.Ordinal);
        Assert.DoesNotContain("body-secret-value", text, StringComparison.Ordinal);
        Assert.Contains("add-key", text, StringComparison.Ordinal);
    }
}
