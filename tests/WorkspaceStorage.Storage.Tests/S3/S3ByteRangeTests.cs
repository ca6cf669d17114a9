using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Storage.Tests.S3;

public sealed class S3ByteRangeTests
{
    [Theory]
    [InlineData("bytes=0-10", "bytes=0-10")]
    [InlineData("bytes=10-", "bytes=10-")]
    [InlineData("bytes=-500", "bytes=-500")]
    [InlineData("BYTES= 5 - 9 ", "bytes=5-9")]
    public void Single_ranges_parse_and_round_trip(string header, string expected)
    {
        Assert.True(S3ByteRange.TryParse(header, out var range));
        Assert.Equal(expected, range.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("bytes=0-1,5-6")]
    [InlineData("items=0-1")]
    [InlineData("bytes=9-5")]
    [InlineData("bytes=-0")]
    [InlineData("bytes=-")]
    [InlineData("bytes=a-b")]
    [InlineData("bytes=+1-2")]
    public void Unusable_ranges_are_refused_so_the_whole_object_is_served(string? header)
    {
        Assert.False(S3ByteRange.TryParse(header, out _));
    }

    [Fact]
    public void Constructors_refuse_backwards_ranges()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => S3ByteRange.Between(10, 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => S3ByteRange.StartingAt(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => S3ByteRange.Last(0));
    }
}
