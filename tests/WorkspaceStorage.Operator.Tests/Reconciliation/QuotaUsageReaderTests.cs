using System.Text;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Operator.Reconciliation;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Tests.Reconciliation;

/// <summary>The usage reader's rate limit (on an injected clock), the start-up checks of its flags, and the gauges' cardinality guard.</summary>
public sealed class QuotaUsageReaderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly WorkspaceId Workspace = WorkspaceId.Parse("ws-usage");

    [Fact]
    public async Task A_workspace_is_listed_at_most_once_per_period()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 8, 0, 0, 0, TimeSpan.Zero));
        var backend = new CountingBackend { Answer = new UsageFigures(10, 1, true) };
        var reader = new WorkspaceUsageReader(new UsageReaderOptions { Period = TimeSpan.FromMinutes(5), MaxPages = 3 }, time);

        var first = await reader.ReadAsync("ceph", backend, Workspace, null, Ct);
        Assert.True(first.Measured);
        Assert.Equal(3, backend.LastMaxPages);

        backend.Answer = new UsageFigures(20, 2, true);
        time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        var cached = await reader.ReadAsync("ceph", backend, Workspace, null, Ct);
        Assert.False(cached.Measured);
        Assert.Equal(10, cached.Figures.Bytes);
        Assert.Equal(1, backend.Reads);

        time.Advance(TimeSpan.FromSeconds(1));
        var again = await reader.ReadAsync("ceph", backend, Workspace, null, Ct);
        Assert.True(again.Measured);
        Assert.Equal(20, again.Figures.Bytes);
        Assert.Equal(2, backend.Reads);
        Assert.Equal(2, reader.Reads);
        Assert.Equal(again.ReadAt + TimeSpan.FromMinutes(5), reader.NextRead(again.ReadAt));

        // Another workspace, or the same id on another backend, has a period of its own.
        await reader.ReadAsync("other", backend, Workspace, null, Ct);
        Assert.Equal(3, backend.Reads);
    }

    [Fact]
    public async Task A_restarted_operator_reuses_the_read_recorded_in_status_within_the_period()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 8, 0, 10, 0, TimeSpan.Zero));
        var backend = new CountingBackend { Answer = new UsageFigures(99, 9, true) };
        var reader = new WorkspaceUsageReader(new UsageReaderOptions(), time);
        var recorded = new WorkspaceUsageStatus { Bytes = 5, Objects = 1, Complete = false, ReadAt = new DateTime(2026, 12, 8, 0, 6, 0, DateTimeKind.Utc) };

        var reused = await reader.ReadAsync("ceph", backend, Workspace, recorded, Ct);
        Assert.False(reused.Measured);
        Assert.Equal(new UsageFigures(5, 1, false), reused.Figures);
        Assert.Equal(0, backend.Reads);

        time.Advance(TimeSpan.FromMinutes(1)); // 5 minutes after the recorded read
        Assert.True((await reader.ReadAsync("ceph", backend, Workspace, recorded, Ct)).Measured);
        Assert.Equal(1, backend.Reads);
    }

    [Theory]
    [InlineData(new[] { "--usage-period", "9s" }, "--usage-period: must be at least 10s")]
    [InlineData(new[] { "--usage-max-pages", "0" }, "--usage-max-pages: must be between 1")]
    [InlineData(new[] { "--usage-metrics-max-workspaces", "-1" }, "--usage-metrics-max-workspaces: must be between 0")]
    public void Bad_usage_flags_are_refused_at_start_up(string[] flags, string error)
    {
        var line = new OperatorCommandLine(_ => null, _ => throw new FileNotFoundException());
        var (options, errors) = line.Parse([.. flags]);
        Assert.Null(options);
        Assert.Contains(errors, e => e.StartsWith(error, StringComparison.Ordinal));
    }

    [Fact]
    public void The_usage_flags_reach_the_options()
    {
        var line = new OperatorCommandLine(_ => null, _ => throw new FileNotFoundException());
        var (options, errors) = line.Parse(["--usage-period", "30s", "--usage-max-pages", "2", "--usage-metrics-max-workspaces", "7"]);
        Assert.Empty(errors);
        Assert.Equal(TimeSpan.FromSeconds(30), options!.Usage.Period);
        Assert.Equal(2, options.Usage.MaxPages);
        Assert.Equal(7, options.UsageMetricsMaxWorkspaces);
        var defaults = line.Parse([]).Options!;
        Assert.Equal(TimeSpan.FromMinutes(5), defaults.Usage.Period);
        Assert.Equal(10, defaults.Usage.MaxPages);
        Assert.Equal(500, defaults.UsageMetricsMaxWorkspaces);
    }

    [Fact]
    public async Task Above_the_cardinality_guard_only_aggregate_series_are_emitted()
    {
        var metrics = new OperatorMetrics(usageMetricsMaxWorkspaces: 2);
        var workspaces = new List<WorkspaceStorageResource> { Measured("a", 100, over: false), Measured("b", 200, over: true) };
        metrics.CountWorkspacesFrom(() => workspaces);

        var few = await ExportAsync(metrics);
        Assert.Contains("workspace_storage_usage_bytes{namespace=\"team-a\",name=\"a\",workspace=\"ws-a\"} 100", few, StringComparison.Ordinal);
        Assert.Contains("workspace_storage_usage_bytes_all 300", few, StringComparison.Ordinal);
        Assert.Contains("workspace_storage_over_quota_workspaces 1", few, StringComparison.Ordinal);

        workspaces.Add(Measured("c", 300, over: false));
        var many = await ExportAsync(metrics);
        Assert.DoesNotContain("workspace_storage_usage_bytes{", many, StringComparison.Ordinal);
        Assert.DoesNotContain("workspace_storage_quota_bytes{", many, StringComparison.Ordinal);
        Assert.Contains("workspace_storage_usage_bytes_all 600", many, StringComparison.Ordinal);
        Assert.Contains("workspace_storage_usage_objects_all 3", many, StringComparison.Ordinal);
    }

    private static WorkspaceStorageResource Measured(string name, long bytes, bool over) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "team-a" },
        Status = new WorkspaceStorageStatus
        {
            Workspace = "ws-" + name,
            Usage = new WorkspaceUsageStatus { Bytes = bytes, Objects = 1, Complete = true, ReadAt = DateTime.UtcNow },
            Quota = new WorkspaceQuotaStatus { MaxBytes = 1000 },
            Conditions = over ? [new V1Condition { Type = WorkspaceStorageConditions.QuotaExceeded, Status = Conditions.True }] : [],
        },
    };

    private static async Task<string> ExportAsync(OperatorMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream, Ct);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private sealed class CountingBackend : IStorageBackend
    {
        public UsageFigures Answer { get; set; } = new(0, 0, true);

        public int Reads;

        public int LastMaxPages;

        public string Type => "counting";

        public S3Location Location { get; } = new(new Uri("http://s3.internal"), new Uri("http://s3.internal"), "us-east-1", "b");

        public Task<UsageFigures> MeasureUsageAsync(WorkspaceId workspace, int maxPages, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Reads);
            LastMaxPages = maxPages;
            return Task.FromResult(Answer);
        }

        public Task<EnsureOutcome> EnsureBucketAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<EnsureOutcome> EnsureBucketCorsAsync(BucketCorsRule rule, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<EnsureOutcome> RemoveBucketCorsAsync(string ruleId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<EnsureOutcome> EnsureIdentityAsync(WorkspaceId workspace, AccessLevel access, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<EnsureOutcome> EnsureKeyAsync(WorkspaceId workspace, AwsCredentials key, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<string>> ListKeysAsync(WorkspaceId workspace, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<EnsureOutcome> RevokeKeyAsync(WorkspaceId workspace, string accessKeyId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<TemporaryCredentials> IssueTemporaryCredentialsAsync(WorkspaceId workspace, AccessLevel access, TimeSpan lifetime, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<EnsureOutcome> DeleteWorkspaceAsync(WorkspaceId workspace, DataDeletion data, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<BackendHealth> CheckHealthAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
