namespace WorkspaceStorage.Benchmarks.Harness;

/// <summary>
/// Runs a candidate and its baseline in the same run, alternating (A B, B A, A B …, so neither always goes first
/// after a quiet moment), for several rounds; reports medians. Absolute times on a shared machine drift; a ratio of
/// neighbours in time drifts much less.
/// </summary>
public static class SideBySide
{
    public static async Task<(List<double> Candidate, List<double> Baseline)> RunAsync(int rounds, Func<int, Task<double>> candidate,
        Func<int, Task<double>> baseline, Action<string>? progress = null)
    {
        var a = new List<double>();
        var b = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            if (round % 2 == 0)
            {
                a.Add(await candidate(round));
                b.Add(await baseline(round));
            }
            else
            {
                b.Add(await baseline(round));
                a.Add(await candidate(round));
            }

            progress?.Invoke($"round {round + 1}/{rounds}: candidate {Figure.Format(a[^1])}, baseline {Figure.Format(b[^1])}");
        }

        return (a, b);
    }

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>Nearest-rank percentile (p in 0..100).</summary>
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static Figure Fig(IReadOnlyList<double> rounds, string unit) => new(Median(rounds), unit, rounds);
}
