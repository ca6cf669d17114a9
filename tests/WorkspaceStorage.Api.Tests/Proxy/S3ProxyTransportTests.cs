using WorkspaceStorage.Api.Proxy;
using WorkspaceStorage.Testing.Http;

namespace WorkspaceStorage.Api.Tests.Proxy;

/// <summary>
/// The S3 proxy's connections to storage acknowledge at once, as the storage clients' do (RGW's two-segment answers):
/// TCP_QUICKACK armed before every read (<see cref="QuickAckProbe"/>; the time saved is measured by `make bench`).
/// </summary>
public sealed class S3ProxyTransportTests
{
    [Fact]
    public async Task Small_answers_sent_in_two_segments_do_not_wait_for_a_delayed_ack()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "TCP_QUICKACK is a Linux option; elsewhere the connections are ordinary ones");

        await QuickAckProbe.AssertArmedBeforeEveryReadAsync(S3ProxyTransport.CreateHandler(new S3ProxyOptions()), "S3 proxy", TestContext.Current.CancellationToken);
    }
}
