using WorkspaceStorage.Testing.Kubernetes;

// One real Kubernetes API server (etcd + Kubernetes' own apiserver code) for this assembly's tests; each LocalCluster
// empties it through KubeCluster.StartAsync.
[assembly: AssemblyFixture(typeof(RealKubeApiServer))]

// Test collections one after another, not only tests (tests/xunit.runner.json runs one test at a time): class fixtures
// here hold a LocalCluster (an operator watching the whole server) across their class's tests, and a test of another
// collection starting between two of them would empty that server and run a second operator beside the first. With
// one server per assembly there may be one LocalCluster at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
