using WorkspaceStorage.Storage.Tests.Contract;

namespace WorkspaceStorage.Storage.Tests.Aws;

/// <summary>The backends' shared contract on the AWS backend, against moto with IAM authorization on.</summary>
public sealed class AwsBackendContractTests : BackendContract
{
    private protected override async Task<IBackendContractHarness> StartAsync() => await AwsBackendHarness.StartAsync();
}
