using WorkspaceStorage.Api.Proxy;
using WorkspaceStorage.Testing.Http;

namespace WorkspaceStorage.Api.Tests.Proxy;

/// <summary>The S3 proxy's connections to storage acknowledge at once, as the storage clients' do (RGW's two-segment answers).</summary>
public sealed class S3ProxyTransportTests
{
    [Fact]
    public async Task Small_answers_sent_in_two_segments_do_not_wait_for_a_delayed_ack()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "TCP_QUICKACK is a Linux option; elsewhere the connections are ordinary ones");

        var (median, all) = await TwoSegmentHttpServer.MedianLatencyAsync(S3ProxyTransport.CreateHandler(new S3ProxyOptions()), TestContext.Current.CancellationToken);

        Assert.True(median < 20, $"median {median:F1} ms over one kept-alive connection (a delayed ACK costs 40 ms); all: {string.Join(", ", all.Select(l => l.ToString("F1")))}");
    }
}
