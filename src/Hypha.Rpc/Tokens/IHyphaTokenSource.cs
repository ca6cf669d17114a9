namespace Hypha.Rpc.Tokens;

/// <summary>Where the client's token comes from. Called before every (re)connection; renews as it sees fit.</summary>
public interface IHyphaTokenSource
{
    /// <summary>A token good for connecting to <see cref="HyphaTokenRequest.Workspace"/> now.</summary>
    ValueTask<HyphaToken> GetTokenAsync(HyphaTokenRequest request, CancellationToken cancellationToken);

    /// <summary>Hypha refused <paramref name="token"/>: do not hand it out again.</summary>
    void Invalidate(HyphaToken token);
}

/// <summary>What the client is about to connect to.</summary>
/// <param name="WebSocketUri">Hypha's <c>/ws</c> endpoint.</param>
/// <param name="Workspace">The workspace the client will join (null: the token's own).</param>
/// <param name="ConnectTimeout">Bound for any connection the source itself opens.</param>
/// <param name="CallTimeout">Bound for any call the source itself makes.</param>
public sealed record HyphaTokenRequest(Uri WebSocketUri, string? Workspace, TimeSpan ConnectTimeout, TimeSpan CallTimeout);
