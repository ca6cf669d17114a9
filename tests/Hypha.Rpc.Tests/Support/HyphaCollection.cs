using WorkspaceStorage.Testing.Hypha;

namespace Hypha.Rpc.Tests.Support;

/// <summary>
/// One Hypha server shared by the test classes of this collection. They run one after another, so timing-sensitive
/// tests (heartbeats, 200 calls in flight) do not compete for the machine's two cores.
/// </summary>
[CollectionDefinition(Name)]
public sealed class HyphaCollection : ICollectionFixture<HyphaServerFixture>
{
    public const string Name = "Hypha server";
}
