using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>What RGW itself holds, read with the admin key: the operator's workspace identities and their keys.</summary>
internal sealed class RgwInventory : IDisposable
{
    private readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly RgwAdminOpsClient admin;

    public RgwInventory(RgwTestServer rgw)
    {
        admin = new RgwAdminOpsClient(new RgwConnection(rgw.Endpoint, rgw.Region, rgw.Admin,
            new SignedHttpSender(http, new SigV4Signer(), new RetryOptions(), NullBackendCallObserver.Instance, "inventory")));
    }

    /// <summary>The identity name the operator gives <paramref name="workspace"/> on RGW.</summary>
    public static string IdentityOf(WorkspaceId workspace) => RgwNames.For(workspace, CephRgwStorageBackend.MaxNameLength).Identity;

    public async Task<bool> HasIdentityAsync(WorkspaceId workspace, CancellationToken cancellationToken) =>
        await admin.GetUserAsync(IdentityOf(workspace), cancellationToken) is not null;

    /// <summary>Access key ids RGW holds for the workspace's identity (empty when it has none).</summary>
    public Task<IReadOnlyList<string>> KeysAsync(WorkspaceId workspace, CancellationToken cancellationToken) =>
        admin.ListKeysAsync(IdentityOf(workspace), cancellationToken);

    /// <summary>Every user id on RGW, for counting identities.</summary>
    public Task<IReadOnlyList<string>> UserIdsAsync(CancellationToken cancellationToken) => admin.ListUserIdsAsync(cancellationToken);

    public void Dispose() => http.Dispose();
}
