using Hypha.Rpc.Calls;
using Hypha.Rpc.Connection;
using Hypha.Rpc.Tokens;
using Hypha.Rpc.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hypha.Rpc.Tests.Unit;

/// <summary>Which handshakes a connection attempt tries, in which order, when Hypha refuses them.</summary>
public sealed class SessionConnectorTests
{
    private static readonly HyphaRpcOptions Options = new() { ServerUrl = "http://127.0.0.1:1", Workspace = "public", ClientId = "c1" };

    [Fact]
    public async Task A_refused_token_is_invalidated_the_source_asked_once_more_then_the_reconnection_token_is_tried()
    {
        var tokens = new QueueTokenSource(new HyphaToken("first"), new HyphaToken("second"));
        var tried = new List<HandshakeRequest>();
        var connector = new SessionConnector(Options, tokens, Refuse(tried), NullLogger.Instance);
        connector.Remember(("resume", DateTimeOffset.UtcNow.AddHours(1)));

        var error = await Assert.ThrowsAsync<HyphaAuthenticationException>(() => connector.ConnectAsync(TestContext.Current.CancellationToken));

        Assert.Equal(["first", "second", null], tried.Select(h => h.Token));
        Assert.Equal([null, null, "resume"], tried.Select(h => h.ReconnectionToken));
        Assert.All(tried, h => Assert.Equal(("public", "c1"), (h.Workspace, h.ClientId)));
        Assert.Equal(["first", "second"], tokens.Invalidated);
        Assert.Equal("refused 3", error.Message);

        // The refused reconnection token is forgotten: the next attempt does not send it again.
        tried.Clear();
        await Assert.ThrowsAsync<HyphaAuthenticationException>(() => connector.ConnectAsync(TestContext.Current.CancellationToken));
        Assert.DoesNotContain(tried, h => h.ReconnectionToken is not null);
    }

    [Fact]
    public async Task The_same_refused_token_is_not_sent_twice_nor_an_expired_one_nor_an_expired_reconnection_token()
    {
        var tried = new List<HandshakeRequest>();
        var again = new QueueTokenSource(new HyphaToken("same"), new HyphaToken("same"));
        var connector = new SessionConnector(Options, again, Refuse(tried), NullLogger.Instance);
        connector.Remember(("resume", DateTimeOffset.UtcNow.AddSeconds(-1)));

        var error = await Assert.ThrowsAsync<HyphaAuthenticationException>(() => connector.ConnectAsync(TestContext.Current.CancellationToken));

        Assert.Equal(["same"], tried.Select(h => h.Token));
        Assert.Equal("refused 1", error.Message);

        tried.Clear();
        var expired = new QueueTokenSource(new HyphaToken("old", DateTimeOffset.UtcNow.AddMinutes(-1)), new HyphaToken("old", DateTimeOffset.UtcNow.AddMinutes(-1)));
        error = await Assert.ThrowsAsync<HyphaAuthenticationException>(() =>
            new SessionConnector(Options, expired, Refuse(tried), NullLogger.Instance).ConnectAsync(TestContext.Current.CancellationToken));

        Assert.Empty(tried);
        Assert.Equal(["old"], expired.Invalidated);
        Assert.Contains("expired", error.Message);
    }

    /// <summary>Hypha refusing every handshake, numbered.</summary>
    private static Func<HandshakeRequest, CancellationToken, Task<HyphaSession>> Refuse(List<HandshakeRequest> tried) => (handshake, _) =>
    {
        tried.Add(handshake);
        throw new HyphaAuthenticationException($"refused {tried.Count}");
    };

    private sealed class QueueTokenSource(params HyphaToken[] tokens) : IHyphaTokenSource
    {
        private readonly Queue<HyphaToken> queue = new(tokens);

        public List<string> Invalidated { get; } = [];

        public ValueTask<HyphaToken> GetTokenAsync(HyphaTokenRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(queue.Count > 1 ? queue.Dequeue() : queue.Peek());

        public void Invalidate(HyphaToken token) => Invalidated.Add(token.Value);
    }
}
