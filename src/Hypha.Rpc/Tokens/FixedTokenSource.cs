namespace Hypha.Rpc.Tokens;

/// <summary>
/// A ready token for the target workspace (for example a <c>public</c> read_write token), given inline or read from a
/// file before each connection. It cannot renew itself: once it expires, the client reconnects with Hypha's
/// reconnection token, which it keeps fresh while connected.
/// </summary>
public sealed class FixedTokenSource(SecretText token) : IHyphaTokenSource
{
    public static FixedTokenSource FromValue(string token) => new(SecretText.FromValue(token));

    public static FixedTokenSource FromFile(string path) => new(SecretText.FromFile(path));

    public async ValueTask<HyphaToken> GetTokenAsync(HyphaTokenRequest request, CancellationToken cancellationToken) =>
        new(await token.ReadAsync(cancellationToken));

    public void Invalidate(HyphaToken token)
    {
        // Nothing cached: the next connection reads the source again (a rotated file may hold a new token).
    }

    public override string ToString() => $"FixedTokenSource({token})";
}
