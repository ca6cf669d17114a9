using WorkspaceStorage.Core.Model;

namespace WorkspaceStorage.Core.Tests.Model;

public sealed class DurationParserTests
{
    [Theory]
    [InlineData("720h", 720 * 3600.0)]
    [InlineData("10m", 600.0)]
    [InlineData("1h30m", 5400.0)]
    [InlineData("1.5h", 5400.0)]
    [InlineData("90s", 90.0)]
    [InlineData("300ms", 0.3)]
    [InlineData("2h45m30.5s", 9930.5)]
    [InlineData("0", 0.0)]
    [InlineData("+5s", 5.0)]
    [InlineData("-5s", -5.0)]
    [InlineData("1500us", 0.0015)]
    [InlineData("1500µs", 0.0015)]
    public void Parses_go_durations(string text, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), DurationParser.Parse(text));
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("10", "missing unit after '10'")]
    [InlineData("10d", "unknown unit 'd'")]
    [InlineData("1w", "unknown unit 'w'")]
    [InlineData("h", "expected a number at 'h'")]
    [InlineData("1.2.3h", "expected a number")]
    [InlineData("10 m", "unknown unit ' m'")]
    [InlineData("-", "has no number")]
    public void Rejects_malformed_durations_with_a_reason(string text, string expected)
    {
        Assert.False(DurationParser.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
        var exception = Assert.Throws<FormatException>(() => DurationParser.Parse(text));
        Assert.Contains($"'{text}'", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_durations_beyond_timespan()
    {
        Assert.False(DurationParser.TryParse("99999999999999h", out _, out var error));
        Assert.Contains("too long", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5400.0, "1h30m0s")]
    [InlineData(600.0, "10m0s")]
    [InlineData(0.0, "0s")]
    [InlineData(2.5, "2.5s")]
    [InlineData(-60.0, "-1m0s")]
    public void Formats_like_go(double seconds, string expected)
    {
        Assert.Equal(expected, DurationParser.Format(TimeSpan.FromSeconds(seconds)));
    }
}
