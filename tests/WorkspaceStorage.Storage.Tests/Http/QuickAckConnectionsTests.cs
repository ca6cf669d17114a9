using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;
using WorkspaceStorage.Testing.Http;

namespace WorkspaceStorage.Storage.Tests;

/// <summary>
/// A server that writes a small answer as two segments with Nagle on (as Ceph RGW's frontend does) must not cost the
/// storage clients a delayed ACK (40 ms on Linux) per request: neither S3 data calls nor the admin calls of the backends
/// arm anything less than TCP_QUICKACK before every read (<see cref="QuickAckProbe"/>; the time saved is measured by
/// `make bench`, see bench/README.md).
/// </summary>
public sealed class QuickAckConnectionsTests
{
    public static TheoryData<string> Handlers => ["S3 data client", "backend admin client"];

    [Theory]
    [MemberData(nameof(Handlers))]
    public async Task Small_answers_sent_in_two_segments_do_not_wait_for_a_delayed_ack(string client)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "TCP_QUICKACK is a Linux option; elsewhere the connections are ordinary ones");
        var handler = client == "S3 data client" ? S3ClientFactory.CreateHandler(new S3ClientOptions()) : StorageBackendFactory.CreateHandler(trust: null);

        await QuickAckProbe.AssertArmedBeforeEveryReadAsync(handler, client, TestContext.Current.CancellationToken);
    }
}
