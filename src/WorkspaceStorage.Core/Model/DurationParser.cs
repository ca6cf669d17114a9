using System.Globalization;
using System.Text;

namespace WorkspaceStorage.Core.Model;

/// <summary>
/// Go's <c>time.ParseDuration</c> format ("720h", "10m", "1h30m", "1.5h", "300ms"), as Kubernetes users write
/// durations. Units: ns, us (or µs), ms, s, m, h. No days: Go has none, and "d" would be read differently by others.
/// </summary>
public static class DurationParser
{
    private static readonly (string Unit, long Ticks)[] Units =
    [
        ("ns", 0), // below TimeSpan's 100 ns tick: handled as a fraction
        ("us", TimeSpan.TicksPerMicrosecond),
        ("µs", TimeSpan.TicksPerMicrosecond),
        ("ms", TimeSpan.TicksPerMillisecond),
        ("s", TimeSpan.TicksPerSecond),
        ("m", TimeSpan.TicksPerMinute),
        ("h", TimeSpan.TicksPerHour),
    ];

    public static TimeSpan Parse(string? value) =>
        TryParse(value, out var duration, out var error)
            ? duration
            : throw new FormatException($"invalid duration '{value}': {error}");

    /// <summary>Parses <paramref name="value"/>; on failure <paramref name="error"/> says what is wrong and what is expected.</summary>
    public static bool TryParse(string? value, out TimeSpan duration, out string error)
    {
        duration = TimeSpan.Zero;
        error = string.Empty;
        if (string.IsNullOrEmpty(value))
        {
            error = "must not be empty (write e.g. '10m', '720h' or '1h30m')";
            return false;
        }

        var s = value.AsSpan();
        var negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s is "0")
        {
            return true;
        }

        if (s.IsEmpty)
        {
            error = "has no number";
            return false;
        }

        decimal totalTicks = 0;
        while (!s.IsEmpty)
        {
            var numberLength = 0;
            while (numberLength < s.Length && (char.IsAsciiDigit(s[numberLength]) || s[numberLength] == '.'))
            {
                numberLength++;
            }

            var number = s[..numberLength];
            if (number.IsEmpty || number is "." || number.IndexOf('.') != number.LastIndexOf('.'))
            {
                error = $"expected a number at '{s.ToString()}' (write e.g. '10m', '720h' or '1h30m')";
                return false;
            }

            s = s[numberLength..];
            var unitLength = 0;
            while (unitLength < s.Length && !char.IsAsciiDigit(s[unitLength]) && s[unitLength] != '.')
            {
                unitLength++;
            }

            var unit = s[..unitLength].ToString();
            s = s[unitLength..];
            if (unit.Length == 0)
            {
                error = $"missing unit after '{number.ToString()}' (units: ns, us, ms, s, m, h)";
                return false;
            }

            var match = Array.FindIndex(Units, u => u.Unit == unit);
            if (match < 0)
            {
                error = $"unknown unit '{unit}' (units: ns, us, ms, s, m, h)";
                return false;
            }

            if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                error = $"number '{number.ToString()}' is out of range";
                return false;
            }

            totalTicks += Units[match].Unit == "ns" ? amount / 100m : amount * Units[match].Ticks;
            if (totalTicks > TimeSpan.MaxValue.Ticks)
            {
                error = "is too long";
                return false;
            }
        }

        var ticks = (long)decimal.Truncate(totalTicks);
        duration = TimeSpan.FromTicks(negative ? -ticks : ticks);
        return true;
    }

    /// <summary>Formats like Go's <c>Duration.String</c> for whole seconds ("1h30m0s", "10m0s", "0s"); used in messages.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero)
        {
            return "0s";
        }

        var sb = new StringBuilder();
        if (duration < TimeSpan.Zero)
        {
            sb.Append('-');
            duration = duration.Negate();
        }

        var hours = (long)duration.TotalHours;
        if (hours > 0)
        {
            sb.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }

        if (hours > 0 || duration.Minutes > 0)
        {
            sb.Append(duration.Minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }

        var seconds = duration.Seconds + (duration.Ticks % TimeSpan.TicksPerSecond / (double)TimeSpan.TicksPerSecond);
        sb.Append(seconds.ToString("0.#########", CultureInfo.InvariantCulture)).Append('s');
        return sb.ToString();
    }
}
