using System.Security.Cryptography;
using Hypha.Rpc.Calls;
using Hypha.Rpc.Services;
using Hypha.Rpc.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hypha.Rpc.Tokens;

/// <summary>
/// Trades Hypha's <c>--root-token</c> for a token of the target workspace: connect with the root token (it always
/// lands in <c>ws-user-root</c>), call <c>services.default.generate_token({workspace, permission, expires_in})</c>,
/// disconnect. The minted token is reused until <see cref="RenewBefore"/> its expiry, then minted again; the root
/// token is read anew each time (a rotated file or a restarted Hypha with a new root token is picked up).
/// </summary>
public sealed class RootTokenExchangeSource : IHyphaTokenSource
{
    private readonly SecretText rootToken;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly SemaphoreSlim mint = new(1, 1);
    private HyphaToken? current;

    public RootTokenExchangeSource(SecretText rootToken, TimeSpan? lifetime = null, string permission = "read_write", ILogger<RootTokenExchangeSource>? logger = null, TimeProvider? time = null)
    {
        this.rootToken = rootToken ?? throw new ArgumentNullException(nameof(rootToken));
        Lifetime = lifetime ?? TimeSpan.FromDays(1);
        if (Lifetime < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException("RootTokenExchangeSource lifetime must be at least 1 second", nameof(lifetime));
        }

        if (HyphaPermissions.Parse(permission) is null)
        {
            throw new ArgumentException($"RootTokenExchangeSource permission '{permission}' is not read, read_write or admin", nameof(permission));
        }

        Permission = permission;
        this.logger = logger ?? NullLogger<RootTokenExchangeSource>.Instance;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>The minted token's <c>expires_in</c>.</summary>
    public TimeSpan Lifetime { get; }

    public string Permission { get; }

    /// <summary>A cached token is replaced once less than this remains: a fifth of the lifetime, at most 10 minutes.</summary>
    public TimeSpan RenewBefore => Lifetime / 5 < TimeSpan.FromMinutes(10) ? Lifetime / 5 : TimeSpan.FromMinutes(10);

    /// <summary>How many tokens this source has minted (for tests and diagnostics).</summary>
    public int MintedCount { get; private set; }

    public async ValueTask<HyphaToken> GetTokenAsync(HyphaTokenRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.Workspace))
        {
            throw new ArgumentException("the root-token exchange needs a target workspace (HyphaRpcOptions.Workspace)");
        }

        await mint.WaitAsync(cancellationToken);
        try
        {
            if (current is { } cached && cached.IsValidAt(time.GetUtcNow(), RenewBefore))
            {
                return cached;
            }

            current = await MintAsync(request, cancellationToken);
            MintedCount++;
            logger.LogInformation("Minted a {Permission} token for workspace {Workspace} with the root token ({Token})", Permission, request.Workspace, current);
            return current;
        }
        finally
        {
            mint.Release();
        }
    }

    public void Invalidate(HyphaToken token)
    {
        if (ReferenceEquals(current, token) || current?.Value == token.Value)
        {
            current = null;
        }
    }

    public override string ToString() => $"RootTokenExchangeSource(root {rootToken}, {Permission}, lifetime {Lifetime})";

    private async Task<HyphaToken> MintAsync(HyphaTokenRequest request, CancellationToken cancellationToken)
    {
        var root = await rootToken.ReadAsync(cancellationToken);
        var clientId = "token-exchange-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));
        var options = new HyphaRpcOptions
        {
            ServerUrl = request.WebSocketUri.ToString(),
            ClientId = clientId,
            ConnectTimeout = request.ConnectTimeout,
            CallTimeout = request.CallTimeout,
        };
        var session = await HyphaSession.ConnectAsync(options, new HandshakeRequest(root, null, clientId, null), null, logger, cancellationToken);
        try
        {
            var config = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["workspace"] = request.Workspace,
                ["permission"] = Permission,
                ["expires_in"] = (long)Math.Ceiling(Lifetime.TotalSeconds),
            };
            var token = await session.CallAsync(session.ManagerTarget, "services.default.generate_token", [config], null, request.CallTimeout, cancellationToken);
            return token is string text && text.Length > 0
                ? new HyphaToken(text)
                : throw new HyphaConnectionException("generate_token returned no token");
        }
        finally
        {
            await session.CloseAsync("token minted");
        }
    }
}
