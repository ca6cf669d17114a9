using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.S3;

/// <summary>Bucket chores over plain S3, with a client that holds the admin's credentials.</summary>
public sealed class AdminBucketOperations(S3ObjectClient adminClient, ILogger<AdminBucketOperations>? logger = null) : IAdminBucketOperations
{
    private static readonly HashSet<string> AlreadyThereCodes = new(StringComparer.Ordinal)
    {
        "BucketAlreadyOwnedByYou", "BucketAlreadyExists", "BucketNameUnavailable",
    };

    private readonly ILogger log = logger ?? NullLogger<AdminBucketOperations>.Instance;

    /// <summary>Keys listed (and deleted) per round of <see cref="DeletePrefixAsync"/>; smaller in tests to cross page boundaries.</summary>
    internal int PageSize { get; init; } = S3ObjectClient.MaxDeleteBatch;

    public async Task<EnsureOutcome> EnsureBucketAsync(CancellationToken cancellationToken)
    {
        // Read before write: S3 (us-east-1) and RGW answer 200 to CreateBucket on a bucket you own, so only a
        // HeadBucket first tells "already there" (Unchanged) from "made now" (Created).
        if (await BucketExistsAsync(cancellationToken))
        {
            return EnsureOutcome.Unchanged;
        }

        var bucket = adminClient.Location.Bucket;
        var (created, code) = await adminClient.CreateBucketAsync(cancellationToken);
        if (created)
        {
            log.LogInformation("Created bucket {Bucket}", bucket);
            return EnsureOutcome.Created;
        }

        if (AlreadyThereCodes.Contains(code!))
        {
            return EnsureOutcome.Unchanged;
        }

        // A key that may not create buckets (or a store that refuses CreateBucket on an existing one, like GCS)
        // must still start when the bucket is there: Hypha crash-looped for days on exactly this. Ask again, in
        // case another replica created it meanwhile.
        log.LogInformation("CreateBucket {Bucket} refused with {Code}; checking whether it exists", bucket, code);
        if (await BucketExistsAsync(cancellationToken))
        {
            return EnsureOutcome.Unchanged;
        }

        throw new S3RequestException($"S3 CreateBucket {bucket}: refused ({code}) and the bucket is not reachable")
        {
            ErrorCode = code,
        };
    }

    /// <summary>
    /// Keeps <paramref name="rule"/> (identified by its <see cref="BucketCorsRule.Id"/>) among the bucket's CORS rules:
    /// every rule with another id, or none, is written back exactly as read and in its place, so an admin's or another
    /// application's rules survive; nothing is written when the bucket already holds the rule.
    /// </summary>
    public async Task<EnsureOutcome> EnsureCorsAsync(BucketCorsRule rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var id = rule.Id ?? throw new ArgumentException("the operator's CORS rule needs an ID, or it could not tell it from the bucket's other rules", nameof(rule));
        var current = await adminClient.GetBucketCorsAsync(cancellationToken);
        var mine = current.Where(r => r.Id == id).ToList();
        if (mine.Count == 1 && mine[0] == rule)
        {
            return EnsureOutcome.Unchanged;
        }

        // Ours replaces the first rule with our id, where it stood (S3 applies the first matching rule); the rest keep their order.
        var desired = new List<BucketCorsRule>(current.Count + 1);
        var placed = false;
        foreach (var existing in current)
        {
            if (existing.Id != id)
            {
                desired.Add(existing);
            }
            else if (!placed)
            {
                desired.Add(rule);
                placed = true;
            }
        }

        if (!placed)
        {
            desired.Add(rule);
        }

        await adminClient.PutBucketCorsAsync(desired, cancellationToken);
        log.LogInformation("Set CORS rule {RuleId} of bucket {Bucket} (origins {Origins}); {Others} other rules kept", id, adminClient.Location.Bucket,
            string.Join(' ', rule.AllowedOrigins), desired.Count - 1);
        return mine.Count == 0 ? EnsureOutcome.Created : EnsureOutcome.Updated;
    }

    /// <summary>
    /// Removes the CORS rule with id <paramref name="ruleId"/> and only it: the other rules are written back as read; when
    /// it was the last rule the bucket's CORS configuration is deleted (S3 refuses an empty one). Absent: Unchanged, no write.
    /// </summary>
    public async Task<EnsureOutcome> RemoveCorsAsync(string ruleId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ruleId);
        var current = await adminClient.GetBucketCorsAsync(cancellationToken);
        var rest = current.Where(r => r.Id != ruleId).ToList();
        if (rest.Count == current.Count)
        {
            return EnsureOutcome.Unchanged;
        }

        if (rest.Count == 0)
        {
            await adminClient.DeleteBucketCorsAsync(cancellationToken);
        }
        else
        {
            await adminClient.PutBucketCorsAsync(rest, cancellationToken);
        }

        log.LogInformation("Removed CORS rule {RuleId} of bucket {Bucket}; {Others} other rules kept", ruleId, adminClient.Location.Bucket, rest.Count);
        return EnsureOutcome.Deleted;
    }

    /// <summary>HeadBucket, with "not allowed to look" counted as "not known to exist" (transient failures still throw).</summary>
    private async Task<bool> BucketExistsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await adminClient.HeadBucketAsync(cancellationToken);
        }
        catch (StorageBackendException ex) when (!ex.IsTransient)
        {
            return false;
        }
    }

    public async Task<WorkspaceStorage.Core.Model.UsageFigures> MeasurePrefixAsync(string prefix, int maxPages, CancellationToken cancellationToken)
    {
        ValidatePrefix(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPages, 1);
        long bytes = 0, objects = 0;
        var pages = 0;
        string? token = null;
        do
        {
            var page = await adminClient.ListAsync(prefix, delimiter: null, token, MeasurePageSize, cancellationToken);
            pages++;
            objects += page.Objects.Count;
            foreach (var item in page.Objects)
            {
                bytes += item.Size;
            }

            token = page.NextContinuationToken;
        }
        while (token is not null && pages < maxPages);

        return new WorkspaceStorage.Core.Model.UsageFigures(bytes, objects, Complete: token is null);
    }

    /// <summary>Keys per page of <see cref="MeasurePrefixAsync"/>: S3's most; smaller in tests to cross the page cap.</summary>
    internal int MeasurePageSize { get; init; } = 1000;

    public async Task<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        ValidatePrefix(prefix);
        var deleted = 0;
        await foreach (var page in adminClient.ListAllAsync(prefix, delimiter: null, PageSize, cancellationToken))
        {
            if (page.Objects.Count == 0)
            {
                continue;
            }

            // Deleting the page just listed does not disturb the continuation token: it points after the page's last key.
            var result = await adminClient.DeleteManyAsync(page.Objects.Select(o => o.Key), PageSize, cancellationToken);
            deleted += result.Deleted;
            if (result.Errors.Count > 0)
            {
                var first = result.Errors[0];
                throw new S3RequestException(
                    $"S3 DeleteObjects under {prefix}: {result.Errors.Count} objects could not be deleted (first: {first.Key}: {first.Code})")
                {
                    ErrorCode = first.Code,
                };
            }
        }

        foreach (var upload in await adminClient.ListMultipartUploadsAsync(prefix, cancellationToken))
        {
            // The listing is by prefix already; checking again costs nothing and keeps "W/" from ever touching "Wx/".
            if (upload.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                await adminClient.AbortMultipartUploadAsync(upload.Key, upload.UploadId, cancellationToken);
            }
        }

        log.LogInformation("Deleted {Count} objects under {Prefix} in bucket {Bucket}", deleted, prefix, adminClient.Location.Bucket);
        return deleted;
    }

    /// <summary>"" would empty the whole bucket and "W" would also match "Wx/…": only a non-empty prefix ending in '/' is accepted.</summary>
    internal static void ValidatePrefix(string prefix)
    {
        if (string.IsNullOrEmpty(prefix))
        {
            throw new BackendValidationException("prefix", "must not be empty (that would delete the whole bucket)");
        }

        if (!prefix.EndsWith('/'))
        {
            throw new BackendValidationException("prefix", "must end with '/' (otherwise it also matches sibling prefixes)");
        }

        if (prefix.Trim('/').Length == 0)
        {
            throw new BackendValidationException("prefix", "must name a folder, not only slashes");
        }
    }
}
