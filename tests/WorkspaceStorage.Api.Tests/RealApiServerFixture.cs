using WorkspaceStorage.Testing.Kubernetes;

// One real Kubernetes API server (etcd + Kubernetes' own apiserver code) for this assembly's tests; each test that
// needs one empties it through KubeCluster.StartAsync.
[assembly: AssemblyFixture(typeof(RealKubeApiServer))]
