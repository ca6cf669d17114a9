using System.Text.Json;
using Hypha.Rpc.Protocol;

namespace Hypha.Rpc.Transport;

/// <summary>What Hypha says about a new connection (<c>{"type": "connection_info", ...}</c>).</summary>
internal sealed record ConnectionInfo(
    string Workspace,
    string ClientId,
    string ManagerId,
    string? HyphaVersion,
    string? PublicBaseUrl,
    IReadOnlyDictionary<string, object?> User,
    string? ReconnectionToken,
    TimeSpan? ReconnectionTokenLifetime)
{
    /// <summary>This client's address, <c>WORKSPACE/CLIENT_ID</c>.</summary>
    public string Address => $"{Workspace}/{ClientId}";

    /// <summary>Where the workspace manager's <c>services.default.*</c> are called.</summary>
    public string ManagerTarget => "*/" + ManagerId;

    /// <summary>Parses the answer to the authentication frame; an error answer becomes an exception with the server's reason (secrets removed).</summary>
    public static ConnectionInfo Parse(string json, HandshakeRequest request)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(json);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new HyphaConnectionException("Hypha's answer to the authentication frame is not JSON");
        }

        var type = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (type == "error")
        {
            var reason = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "" : "";
            reason = request.Redact(reason);
            if (reason.Length > 300)
            {
                reason = reason[..300] + "...";
            }

            throw IsAuthenticationFailure(reason)
                ? new HyphaAuthenticationException($"Hypha refused the connection: {reason}")
                : new HyphaConnectionException($"Hypha refused the connection: {reason}");
        }

        if (type != "connection_info")
        {
            throw new HyphaConnectionException($"Hypha answered the authentication frame with type '{type}' instead of connection_info");
        }

        string Required(string name) =>
            root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s
                ? s
                : throw new HyphaConnectionException($"connection_info lacks '{name}'");
        string? Optional(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        var user = root.TryGetProperty("user", out var u) ? JsonValues.ToPlain(u) as IReadOnlyDictionary<string, object?> : null;
        TimeSpan? lifetime = root.TryGetProperty("reconnection_token_life_time", out var life) && life.ValueKind == JsonValueKind.Number
            ? TimeSpan.FromSeconds(life.GetDouble())
            : null;
        return new ConnectionInfo(
            Required("workspace"),
            Optional("client_id") ?? request.ClientId,
            Required("manager_id"),
            Optional("hypha_version"),
            Optional("public_base_url"),
            user ?? new Dictionary<string, object?>(),
            Optional("reconnection_token"),
            lifetime);
    }

    /// <summary>Hypha's reasons for refusing credentials (websocket.py: AuthenticationError, authenticate_user, permission checks).</summary>
    private static bool IsAuthenticationFailure(string reason) =>
        reason.Contains("Authentication error", StringComparison.OrdinalIgnoreCase)
        || reason.Contains("Failed to authenticate", StringComparison.OrdinalIgnoreCase)
        || reason.Contains("Permission denied", StringComparison.OrdinalIgnoreCase)
        || reason.Contains("expired", StringComparison.OrdinalIgnoreCase);

    public override string ToString() =>
        $"ConnectionInfo(workspace {Workspace}, client {ClientId}, manager {ManagerId}, hypha {HyphaVersion}, reconnection token {(ReconnectionToken is null ? "none" : "***")})";
}
