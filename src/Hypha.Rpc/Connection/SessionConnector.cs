using Hypha.Rpc.Calls;
using Hypha.Rpc.Tokens;
using Hypha.Rpc.Transport;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Connection;

/// <summary>
/// Opens a session: with the token source's token (a refused token is invalidated and the source asked once more,
/// which lets a root-token exchange mint a fresh one), else with Hypha's reconnection token from the last session,
/// which outlives a short-lived fixed token.
/// </summary>
/// <param name="open">Opens one session with a handshake (a seam for tests; <see cref="ForServer"/> opens a real one).</param>
internal sealed class SessionConnector(
    HyphaRpcOptions options, IHyphaTokenSource tokenSource, Func<HandshakeRequest, CancellationToken, Task<HyphaSession>> open, ILogger logger)
{
    private (string? Token, DateTimeOffset? ExpiresAt) reconnectionToken;

    public static SessionConnector ForServer(HyphaRpcOptions options, IHyphaTokenSource tokenSource, IIncomingCallHandler handler, ILogger logger) =>
        new(options, tokenSource, async (handshake, cancellationToken) =>
        {
            var opened = await HyphaSession.ConnectAsync(options, handshake, handler, logger, cancellationToken);
            logger.LogInformation("Connected to {Uri} as {Address} (user {User}, Hypha {Version})",
                options.WebSocketUri, opened.Address, opened.Info.User.GetValueOrDefault("id"), opened.Info.HyphaVersion);
            return opened;
        }, logger);

    /// <summary>The reconnection token a session ended with: the fallback of the next connection.</summary>
    public void Remember((string? Token, DateTimeOffset? ExpiresAt) token) => reconnectionToken = token;

    public async Task<HyphaSession> ConnectAsync(CancellationToken cancellationToken)
    {
        var request = new HyphaTokenRequest(options.WebSocketUri, options.Workspace, options.ConnectTimeout, options.CallTimeout);
        Exception? failure = null;
        string? refused = null;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var token = await tokenSource.GetTokenAsync(request, cancellationToken);
            if (token.Value == refused)
            {
                break;
            }

            if (!token.IsValidAt(DateTimeOffset.UtcNow, TimeSpan.Zero))
            {
                tokenSource.Invalidate(token);
                refused = token.Value;
                failure = new HyphaAuthenticationException($"the token expired at {token.ExpiresAt:O}");
                continue;
            }

            try
            {
                return await open(new HandshakeRequest(token.Value, options.Workspace, options.ClientId, null), cancellationToken);
            }
            catch (HyphaAuthenticationException ex)
            {
                tokenSource.Invalidate(token);
                refused = token.Value;
                failure = ex;
            }
        }

        if (reconnectionToken is { Token: { } saved } && (reconnectionToken.ExpiresAt is not { } expiry || expiry > DateTimeOffset.UtcNow))
        {
            try
            {
                var resumed = await open(new HandshakeRequest(null, options.Workspace, options.ClientId, saved), cancellationToken);
                logger.LogInformation("Reconnected with Hypha's reconnection token (the token source's token was refused: {Error})", failure?.Message);
                return resumed;
            }
            catch (HyphaAuthenticationException ex)
            {
                reconnectionToken = default;
                failure = ex;
            }
        }

        throw failure ?? new HyphaAuthenticationException("no usable token");
    }
}
