using WorkspaceStorage.Storage.Tests.Contract;

namespace WorkspaceStorage.Storage.Tests.CephRgw;

/// <summary>The backends' shared contract on the Ceph RGW backend, against the real local RGW.</summary>
public sealed class RgwBackendContractTests : BackendContract
{
    private protected override async Task<IBackendContractHarness> StartAsync() => await RgwBackendHarness.StartAsync();
}
