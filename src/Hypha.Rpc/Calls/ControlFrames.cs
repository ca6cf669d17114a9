using System.Text.Json;
using Hypha.Rpc.Tokens;
using Hypha.Rpc.Transport;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Calls;

/// <summary>
/// Hypha's JSON text frames on a session (<c>pong</c>, <c>reconnection_token</c>, <c>error</c>), and the latest
/// reconnection token they brought: the client reconnects with it when its own token is refused.
/// </summary>
internal sealed class ControlFrames
{
    private readonly ConnectionInfo info;
    private readonly ILogger logger;
    private readonly Lock tokenLock = new();
    private string? reconnectionToken;
    private DateTimeOffset? reconnectionTokenExpiresAt;

    public ControlFrames(ConnectionInfo info, ILogger logger)
    {
        this.info = info;
        this.logger = logger;
        StoreReconnectionToken(info.ReconnectionToken);
    }

    /// <summary>The latest reconnection token Hypha gave this session, with its expiry.</summary>
    public (string? Token, DateTimeOffset? ExpiresAt) ReconnectionToken
    {
        get
        {
            lock (tokenLock)
            {
                return (reconnectionToken, reconnectionTokenExpiresAt);
            }
        }
    }

    public void Handle(ReceivedFrame frame)
    {
        string? type;
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(frame.Data);
            root = document.RootElement.Clone();
            type = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var t) ? t.GetString() : null;
        }
        catch (JsonException)
        {
            logger.LogWarning("Ignored a {Bytes} byte text frame that is not JSON", frame.TotalBytes);
            return;
        }

        switch (type)
        {
            case "pong":
                break;
            case "reconnection_token":
                StoreReconnectionToken(root.TryGetProperty("reconnection_token", out var rt) ? rt.GetString() : null);
                logger.LogDebug("Hypha renewed the reconnection token of {Address}", info.Address);
                break;
            case "error":
                logger.LogWarning("Hypha reported an error on {Address}: {Message}",
                    info.Address, root.TryGetProperty("message", out var m) ? m.GetString() : null);
                break;
            default:
                logger.LogDebug("Ignored a control frame of type {Type}", type);
                break;
        }
    }

    /// <summary>The token's own expiry when it is a JWT, else the lifetime connection_info announced.</summary>
    private void StoreReconnectionToken(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return;
        }

        lock (tokenLock)
        {
            reconnectionToken = token;
            reconnectionTokenExpiresAt = HyphaToken.JwtExpiry(token) ?? (info.ReconnectionTokenLifetime is { } l ? DateTimeOffset.UtcNow + l : null);
        }
    }
}
