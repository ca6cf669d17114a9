using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Ttl;

/// <summary>
/// Every <see cref="StorageOptions.TtlSweepPeriod"/>, when this replica holds the sweep lease: for each TTL marker,
/// deletes its object once <c>LastModified + ttl</c> has passed (counted from upload completion, not from URL issue),
/// and drops the marker once no upload through its URLs can still happen.
/// </summary>
public sealed class TtlSweeper(
    IWorkspaceStorageDirectory directory,
    S3ClientFactory clients,
    ISweepLease lease,
    IOptions<StorageOptions> options,
    TimeProvider clock,
    ILogger<TtlSweeper> logger) : BackgroundService
{
    private readonly SemaphoreSlim running = new(1, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = options.Value.TtlSweepPeriod;
        using var timer = new PeriodicTimer(period, clock);
        do
        {
            try
            {
                if (await lease.TryAcquireAsync(period, stoppingToken))
                {
                    await SweepOnceAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "TTL sweep failed; retrying next period");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One pass over every bookkeeping bucket. Returns how many objects were deleted.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        if (!await running.WaitAsync(0, cancellationToken))
        {
            return 0; // a sweep is still running in this process
        }

        try
        {
            var deleted = 0;
            foreach (var bucket in await directory.ListBookkeepingBucketsAsync(cancellationToken))
            {
                deleted += await SweepBucketAsync(bucket, cancellationToken);
            }

            return deleted;
        }
        finally
        {
            running.Release();
        }
    }

    private async Task<int> SweepBucketAsync(BucketBookkeeping bucket, CancellationToken cancellationToken)
    {
        var admin = clients.Create(bucket.Location, bucket.Admin);
        var deleted = 0;
        await foreach (var page in admin.ListAllAsync(TtlMarkerStore.MarkerPrefix, cancellationToken: cancellationToken))
        {
            foreach (var markerObject in page.Objects)
            {
                try
                {
                    deleted += await SweepMarkerAsync(admin, markerObject.Key, cancellationToken) ? 1 : 0;
                }
                catch (StorageBackendException ex)
                {
                    logger.LogWarning("TTL marker {Marker} in bucket {Bucket} not handled: {Error}", markerObject.Key, bucket.Location.Bucket, ex.Message);
                }
            }
        }

        return deleted;
    }

    private async Task<bool> SweepMarkerAsync(S3ObjectClient admin, string markerKey, CancellationToken cancellationToken)
    {
        TtlMarker? marker;
        await using (var got = await admin.GetAsync(markerKey, cancellationToken: cancellationToken))
        {
            if (!got.HasBody)
            {
                return false;
            }

            using var buffer = new MemoryStream();
            await got.Body.CopyToAsync(buffer, cancellationToken);
            marker = TtlMarkerStore.Parse(buffer.ToArray());
        }

        if (marker is null)
        {
            logger.LogWarning("Removing unreadable TTL marker {Marker}", markerKey);
            await admin.DeleteAsync(markerKey, cancellationToken);
            return false;
        }

        var now = clock.GetUtcNow();
        var uploadsPossible = now <= marker.UploadDeadline + options.Value.TtlUploadGrace;
        // W's objects are read and deleted with W's own key (RGW: objects belong to their uploader, and the bucket
        // owner may not even HEAD them). A workspace that no longer exists has nothing left for its marker to do.
        var handle = await directory.FindAsync(WorkspaceId.Parse(marker.Workspace), cancellationToken);
        if (handle is null)
        {
            if (!uploadsPossible)
            {
                await admin.DeleteAsync(markerKey, cancellationToken);
            }

            return false;
        }

        var owner = clients.Create(handle.Location, handle.Key);
        var head = await WorkspaceObjects.HeadAsync(owner, marker.Key, cancellationToken);
        // LastModified has whole seconds; an object older than the URLs is someone else's upload, not this ttl's.
        var issuedSecond = marker.IssuedAt.AddTicks(-(marker.IssuedAt.Ticks % TimeSpan.TicksPerSecond)).AddSeconds(-1);
        var deleted = false;
        if (head?.LastModified is { } uploadedAt && uploadedAt >= issuedSecond)
        {
            if (uploadedAt.AddSeconds(marker.TtlSeconds) > now)
            {
                return false; // not due yet
            }

            await owner.DeleteAsync(marker.Key, cancellationToken);
            logger.LogInformation("TTL expired: deleted {Key} ({Ttl} s after upload)", marker.Key, marker.TtlSeconds);
            deleted = true;
            // The URL may still be valid: keep the marker so a second upload through it expires too.
            uploadsPossible = now <= marker.UploadDeadline;
        }

        if (!uploadsPossible)
        {
            await admin.DeleteAsync(markerKey, cancellationToken);
        }

        return deleted;
    }
}
