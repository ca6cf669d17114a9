using System.Collections.Concurrent;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>How often, and how far, <see cref="WorkspaceUsageReader"/> lists a workspace.</summary>
public sealed record UsageReaderOptions
{
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan MinimumPeriod = TimeSpan.FromSeconds(10);
    public const int DefaultMaxPages = 10;
    public const int MaxMaxPages = 10_000;

    /// <summary>At most one listing sequence per workspace this often (--usage-period).</summary>
    public TimeSpan Period { get; init; } = DefaultPeriod;

    /// <summary>Pages of 1000 keys per listing (--usage-max-pages); a longer workspace is reported with complete=false.</summary>
    public int MaxPages { get; init; } = DefaultMaxPages;

    /// <summary>Why these options cannot be used, or null.</summary>
    public string? Error() =>
        Period < MinimumPeriod ? $"--usage-period: must be at least {DurationParser.Format(MinimumPeriod)} (got {DurationParser.Format(Period)})"
        : MaxPages is < 1 or > MaxMaxPages ? $"--usage-max-pages: must be between 1 and {MaxMaxPages} (got {MaxPages})"
        : null;
}

/// <summary>One workspace's usage and when it was measured.</summary>
/// <param name="Measured">True when this call listed the prefix; false when the figures came from a read less than a period old.</param>
public sealed record UsageReading(UsageFigures Figures, DateTimeOffset ReadAt, bool Measured);

/// <summary>
/// Measures a workspace's usage by a capped ListObjectsV2 of <c>W/</c> (see <see cref="IStorageBackend.MeasureUsageAsync"/>),
/// at most once per workspace per <see cref="UsageReaderOptions.Period"/>: a read less than a period old (this process's,
/// or the one recorded in status.usage.readAt by an earlier process) is reused, so a resync costs no listing.
/// </summary>
public sealed class WorkspaceUsageReader(UsageReaderOptions? options = null, TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<(string Backend, string Workspace), UsageReading> last = new();
    private int reads;

    public UsageReaderOptions Options { get; } = options ?? new UsageReaderOptions();

    private TimeProvider Clock { get; } = time ?? TimeProvider.System;

    /// <summary>Workspaces whose last reading is remembered (it must shrink when workspaces are deleted).</summary>
    public int Remembered => last.Count;

    /// <summary>Listing sequences made so far (tests and the bench: a resync makes none).</summary>
    public int Reads => Volatile.Read(ref reads);

    /// <summary>The usage of <paramref name="workspace"/>: reused when less than a period old, else measured now.</summary>
    /// <param name="recorded">The resource's status.usage, so a restarted operator does not list again within the period.</param>
    public async Task<UsageReading> ReadAsync(string backendName, IStorageBackend backend, WorkspaceId workspace, WorkspaceUsageStatus? recorded,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(workspace);
        var key = (backendName ?? string.Empty, workspace.Value);
        var now = Clock.GetUtcNow();
        if (last.TryGetValue(key, out var known) && Fresh(known.ReadAt, now))
        {
            return known with { Measured = false };
        }

        if (recorded?.ReadAt is { } recordedAt && Fresh(new DateTimeOffset(DateTime.SpecifyKind(recordedAt, DateTimeKind.Utc)), now))
        {
            var reused = new UsageReading(new UsageFigures(recorded.Bytes, recorded.Objects, recorded.Complete),
                new DateTimeOffset(DateTime.SpecifyKind(recordedAt, DateTimeKind.Utc)), Measured: false);
            last[key] = reused;
            return reused;
        }

        var figures = await backend.MeasureUsageAsync(workspace, Options.MaxPages, cancellationToken);
        Interlocked.Increment(ref reads);
        // Whole seconds, as the API server keeps times: the status read back then equals what was written.
        var at = DateTimeOffset.FromUnixTimeSeconds(Clock.GetUtcNow().ToUnixTimeSeconds());
        var reading = new UsageReading(figures, at, Measured: true);
        last[key] = reading;
        return reading;
    }

    /// <summary>When the next read of a workspace read at <paramref name="readAt"/> is due.</summary>
    public DateTimeOffset NextRead(DateTimeOffset readAt) => readAt + Options.Period;

    /// <summary>Drops what is known of a workspace (deleted), so the map does not grow with churn.</summary>
    public void Forget(string backendName, WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        last.TryRemove((backendName ?? string.Empty, workspace.Value), out _);
    }

    private bool Fresh(DateTimeOffset readAt, DateTimeOffset now) => now - readAt < Options.Period && readAt <= now + TimeSpan.FromSeconds(1);
}
