using System.Buffers.Text;
using System.Security.Cryptography;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Api.Tests.HyphaRpc.Replay;

/// <summary>
/// What the replayed server chooses anew on every run instead of the recorded values: the root token (43 random
/// characters, as Hypha's), the token <c>generate_token</c> answers with and the reconnection tokens (HS256 JWTs with
/// Hypha's claim shapes, SCENARIO.md "Token claim shapes"), and the expiry Hypha reports for the minted token. The
/// recording redacted every token to <c>&lt;token&gt;</c>; which real value stands there depends on the field.
/// </summary>
internal sealed class ServerValues
{
    public const string SecretPlaceholder = "<token>";

    /// <summary>The minted token's <c>expires_at</c> as the recorded connection_info of the public connections shows it.</summary>
    public const double RecordedPublicTokenExpiry = 1796672823.0;

    /// <summary>The user id Hypha gave the minted token (recorded connection_info of the public connections).</summary>
    public const string RecordedPublicTokenUser = "kind-iris-44789195";

    private readonly HyphaTokenFactory tokens;
    private readonly Dictionary<string, string> reconnectionTokens = new(StringComparer.Ordinal);

    public ServerValues(string jwtSecret, TimeSpan mintedLifetime)
    {
        tokens = new HyphaTokenFactory(jwtSecret);
        RootToken = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var claims = tokens.Claims(RecordedPublicTokenUser, "ws:public#rw wid:public", mintedLifetime, roles: ["admin"], email: null);
        claims["https://amun.ai/parent"] = "root";
        PublicTokenExpiry = (long)claims["exp"]!;
        PublicToken = tokens.Sign(HyphaTokenFactory.HS256Header(), claims);
    }

    /// <summary>Hypha's <c>--root-token</c>: the test writes it to the companion's RootTokenFile.</summary>
    public string RootToken { get; }

    /// <summary>The read_write token on <c>public</c> that the replayed <c>generate_token</c> returns.</summary>
    public string PublicToken { get; }

    public long PublicTokenExpiry { get; }

    public bool IsSecretPlaceholder(string value) => value == SecretPlaceholder;

    /// <summary>
    /// The secret a client frame must carry where the recording has <c>&lt;token&gt;</c>: in the handshake without a
    /// workspace (the token exchange) the root token file's content, in a handshake to a workspace the minted token.
    /// </summary>
    public (string Name, string Value)? ExpectedSecret(RecordedFrame frame, string path) =>
        (frame.Kind, path) switch
        {
            ("text", "$.token") when frame.Json is Dictionary<string, object?> handshake => handshake.GetValueOrDefault("workspace") is null
                ? ("the root token file's content", RootToken)
                : ("the token the replayed generate_token returned", PublicToken),
            _ => null,
        };

    /// <summary>The secret a server frame carries where the recording has <c>&lt;token&gt;</c>.</summary>
    public string SecretToSend(RecordedFrame frame, string path)
    {
        if (path == "$.reconnection_token")
        {
            // One per connection, as Hypha's; the companion keeps it but never sends it back (recorded: always null).
            if (!reconnectionTokens.TryGetValue($"{frame.Connection}", out var token))
            {
                var root = frame.Json is Dictionary<string, object?> info && info.GetValueOrDefault("workspace") as string == "ws-user-root";
                token = root
                    ? tokens.Create("root", "ws:*#a ws:ws-user-root#a wid:ws-user-root", TimeSpan.FromHours(48), ["admin"], null)
                    : tokens.Create(RecordedPublicTokenUser, "ws:public#rw wid:public", TimeSpan.FromHours(48), ["admin"], null);
                reconnectionTokens[$"{frame.Connection}"] = token;
            }

            return token;
        }

        // The only other redacted server value in the replayed frames: generate_token's answer (args[0] of its resolve).
        return PublicToken;
    }

    /// <summary>Scalars of server frames replaced by this run's value (the minted token's expiry).</summary>
    public object? Overrides(RecordedFrame frame, string path, object? recorded) =>
        recorded is double expiry && expiry == RecordedPublicTokenExpiry && path.EndsWith(".expires_at", StringComparison.Ordinal)
            ? (double)PublicTokenExpiry
            : recorded;
}
