using System.Globalization;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// Row 8's floor: tools/informer-baseline (client-go's shared informers from Debian sid, built by
/// scripts/install-informer-baseline.sh) listing and watching what the operator watches on the same API server,
/// and nothing else. Its resident memory is what any Go operator pays for the same cache.
/// </summary>
public sealed class GoInformerBaseline : IAsyncDisposable
{
    /// <summary>Where scripts/bench.sh says the binary is.</summary>
    public const string PathVariable = "WSO_BENCH_INFORMER_BASELINE";

    private readonly ServerProcess process;
    private readonly HttpClient http;

    private GoInformerBaseline(ServerProcess process, Uri address)
    {
        this.process = process;
        http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public int Id => process.Id;

    /// <summary>Null (with the reason) when scripts/bench.sh did not provide the binary.</summary>
    public static GoInformerBaseline? Start(string kubeconfig, out string? missing)
    {
        var binary = Environment.GetEnvironmentVariable(PathVariable);
        if (string.IsNullOrEmpty(binary) || !File.Exists(binary))
        {
            missing = $"{PathVariable} does not name the built tools/informer-baseline (scripts/bench.sh sets it)";
            return null;
        }

        missing = null;
        var port = FreeTcpPort.Next();
        var listen = $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        return new GoInformerBaseline(ServerProcess.StartProgram(binary, ["-kubeconfig", kubeconfig, "-listen", listen], new Dictionary<string, string>()),
            new Uri($"http://{listen}/"));
    }

    /// <summary>Waits until its caches hold <paramref name="storages"/> WorkspaceStorages and as many Secrets, and (for
    /// 0) until it has synced: an empty cache that cannot list (a wrong kubeconfig) must not pass for an idle one.</summary>
    public async Task WaitForCountsAsync(int storages, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var want = $"workspacestorages={storages} secrets={storages} ";
        var seen = "";
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"tools/informer-baseline exited with {process.ExitCode}");
            }

            try
            {
                using var ready = await http.GetAsync("readyz", limit.Token);
                seen = await http.GetStringAsync("counts", limit.Token);
                if (ready.IsSuccessStatusCode && seen.StartsWith(want, StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"tools/informer-baseline did not cache {storages} objects within {timeout.TotalSeconds:F0} s (last: {seen.Trim()})");
            }

            await Task.Delay(200, limit.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await process.DisposeAsync();
    }
}
