using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Storage.Tests.S3;

/// <summary>The usage listing on the real RGW: bytes and objects of W/ only (not a sibling W-longer/), capped at a page count.</summary>
public sealed class UsageMeasurementRgwTests
{
    private static CancellationToken Cancel => RgwS3Context.Cancel;

    [Fact]
    public async Task A_prefix_is_measured_page_by_page_and_a_capped_listing_says_it_is_incomplete()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        for (var i = 0; i < 5; i++)
        {
            await s3.Admin.PutAsync($"ws-u/{i:D2}", new MemoryStream(new byte[100 + i]), 100 + i, null, Cancel);
        }

        await s3.Admin.PutAsync("ws-ub/other", new MemoryStream(new byte[1000]), 1000, null, Cancel); // a sibling with a longer name
        await s3.Admin.PutAsync("ws-u", new MemoryStream(new byte[7]), 7, null, Cancel);
        var small = new AdminBucketOperations(s3.Admin) { MeasurePageSize = 2 };

        s3.Calls.Reset();
        Assert.Equal(new UsageFigures(510, 5, Complete: true), await small.MeasurePrefixAsync("ws-u/", maxPages: 3, Cancel));
        Assert.Equal(3, s3.Calls.Calls.Count(c => c.Operation == "ListObjectsV2"));

        s3.Calls.Reset();
        Assert.Equal(new UsageFigures(406, 4, Complete: false), await small.MeasurePrefixAsync("ws-u/", maxPages: 2, Cancel));
        Assert.Equal(2, s3.Calls.Calls.Count(c => c.Operation == "ListObjectsV2"));

        Assert.Equal(new UsageFigures(0, 0, Complete: true), await s3.Bucket.MeasurePrefixAsync("ws-empty/", 10, Cancel));
        await Assert.ThrowsAsync<WorkspaceStorage.Storage.Backends.BackendValidationException>(() => s3.Bucket.MeasurePrefixAsync("ws-u", 10, Cancel)); // no trailing '/': would match ws-ub/
    }
}
