using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Storage.Tests.S3;

/// <summary>The prefix guard of DeletePrefixAsync, checked before any request (the handler fails the test if one is sent).</summary>
public sealed class AdminBucketOperationsGuardTests
{
    [Theory]
    [InlineData("")]
    [InlineData("ws-a")]
    [InlineData("ws-a/sub")]
    [InlineData("/")]
    [InlineData("//")]
    public async Task Prefixes_that_could_reach_beyond_one_folder_are_refused_without_a_call(string prefix)
    {
        var handler = new RecordingHandler();
        using var factory = new S3ClientFactory(handler: handler);
        var operations = new AdminBucketOperations(factory.Create(
            new S3Location(new Uri("http://127.0.0.1:1"), new Uri("http://127.0.0.1:1"), "us-east-1", "b"), new AwsCredentials("a", "s")));

        var ex = await Assert.ThrowsAsync<BackendValidationException>(() => operations.DeletePrefixAsync(prefix, TestContext.Current.CancellationToken));

        Assert.Equal("prefix", ex.Field);
        Assert.Equal(0, handler.Requests);
    }

    private sealed class RecordingHandler : HttpMessageHandler
    {
        public int Requests { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests++;
            throw new InvalidOperationException("no request may be sent");
        }
    }
}
