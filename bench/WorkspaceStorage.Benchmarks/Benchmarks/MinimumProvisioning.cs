using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// The least a new workspace needs, with no operator and no Kubernetes: the backend's <c>EnsureIdentity</c> (user,
/// prefix policy, role) and <c>EnsureKey</c> (its first key) for a fresh workspace, called straight on the backend the
/// operator would use (the baseline of rows 11 and 12; row 6 times the same sequence in bulk).
/// </summary>
public sealed class MinimumProvisioning : IDisposable
{
    private readonly BenchContext context;
    private readonly S3ClientFactory clients = new();
    private readonly HttpClient http = new(QuickAckConnections.Apply(new SocketsHttpHandler { UseProxy = false })) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly CephRgwStorageBackend backend;
    private readonly string run = Guid.NewGuid().ToString("N")[..6];
    private int next;

    public MinimumProvisioning(BenchContext context, string bucket)
    {
        this.context = context;
        var location = new S3Location(context.RgwEndpoint, context.RgwEndpoint, context.Region, bucket);
        backend = new CephRgwStorageBackend(new CephRgwBackendOptions(location, context.Admin), http,
            new AdminBucketOperations(clients.Create(location, context.Admin)), Calls, NullLogger<CephRgwStorageBackend>.Instance);
    }

    public BackendCallCounter Calls { get; } = new();

    /// <summary>The bucket and the backend's one-off checks, outside any timing.</summary>
    public async Task PrepareAsync()
    {
        await backend.EnsureBucketAsync(context.CancellationToken);
        await backend.CheckHealthAsync(context.CancellationToken);
        Calls.Reset();
    }

    /// <summary>Provisions one fresh workspace; returns the milliseconds it took.</summary>
    public async Task<double> TimeOneAsync() => (await TimeOneWithCredentialsAsync(issue: false)).ProvisionMs;

    /// <summary>
    /// Provisions one fresh workspace, then (when <paramref name="issue"/>) asks STS for its first temporary credentials
    /// and, at once, its second: what a new user's first generate_credential cannot avoid, and what a later one costs.
    /// </summary>
    public async Task<(double ProvisionMs, double FirstStsMs, double SecondStsMs)> TimeOneWithCredentialsAsync(bool issue = true)
    {
        var workspace = WorkspaceId.Parse($"ws-min-{run}-{Interlocked.Increment(ref next):D5}");
        var watch = Stopwatch.StartNew();
        await backend.EnsureIdentityAsync(workspace, AccessLevel.ReadWrite, context.CancellationToken);
        await backend.EnsureKeyAsync(workspace, AccessKeyGenerator.Generate(), context.CancellationToken);
        var provision = watch.Elapsed.TotalMilliseconds;
        if (!issue)
        {
            return (provision, double.NaN, double.NaN);
        }

        watch.Restart();
        await backend.IssueTemporaryCredentialsAsync(workspace, AccessLevel.ReadWrite, TimeSpan.FromMinutes(15), context.CancellationToken);
        var first = watch.Elapsed.TotalMilliseconds;
        watch.Restart();
        await backend.IssueTemporaryCredentialsAsync(workspace, AccessLevel.ReadWrite, TimeSpan.FromMinutes(15), context.CancellationToken);
        return (provision, first, watch.Elapsed.TotalMilliseconds);
    }

    public void Dispose()
    {
        http.Dispose();
        clients.Dispose();
    }
}
