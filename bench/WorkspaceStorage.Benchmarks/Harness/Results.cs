using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace WorkspaceStorage.Benchmarks.Harness;

/// <summary>One measured quantity: the median over rounds, with every round's value kept for the JSON.</summary>
public sealed record Figure(double Value, string Unit, IReadOnlyList<double>? Rounds = null)
{
    public override string ToString() => $"{Format(Value)} {Unit}";

    public static string Format(double value) => Math.Abs(value) switch
    {
        >= 1000 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("F1", CultureInfo.InvariantCulture),
        _ => value.ToString("0.###", CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// One row of the table: what was measured, beside which baseline, their ratio, and the issue's target.
/// A row that could not be measured carries <see cref="NotMeasured"/> (the reason) and no figures — never invented ones.
/// </summary>
public sealed record BenchRow(string Id, string What)
{
    public Figure? Measured { get; init; }

    public string? BaselineName { get; init; }

    public Figure? Baseline { get; init; }

    /// <summary>Measured relative to baseline, in the sense the target states (e.g. 25.3 for "25.3× boto3").</summary>
    public double? Ratio { get; init; }

    public string? RatioUnit { get; init; }

    public required string Target { get; init; }

    public bool? TargetMet { get; init; }

    /// <summary>Further figures (p99, calls per workspace, …), shown in the notes column.</summary>
    public IReadOnlyDictionary<string, Figure> Extra { get; init; } = new Dictionary<string, Figure>();

    public string? Note { get; init; }

    public string? NotMeasured { get; init; }

    public static BenchRow Skipped(string id, string what, string target, string reason) =>
        new(id, what) { Target = target, NotMeasured = reason.ReplaceLineEndings(" ") };
}

/// <summary>Prints the table on stdout and writes the JSON (the figures of the last run are committed).</summary>
public static class ResultWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public static string Table(IEnumerable<BenchRow> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| # | what | measured | baseline | ratio | target | met | notes |");
        text.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            if (row.NotMeasured is { } reason)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"| {row.Id} | {row.What} | not measured: {reason} | – | – | {row.Target} | – | |");
                continue;
            }

            var baseline = row.Baseline is null ? "–" : $"{row.Baseline} ({row.BaselineName})";
            var ratio = row.Ratio is { } r ? $"{Figure.Format(r)}{row.RatioUnit}" : "–";
            var met = row.TargetMet switch { true => "yes", false => "**no**", null => "–" };
            var notes = string.Join("; ", row.Extra.Select(e => $"{e.Key} {e.Value}").Append(row.Note).Where(s => !string.IsNullOrEmpty(s)));
            text.AppendLine(CultureInfo.InvariantCulture, $"| {row.Id} | {row.What} | {row.Measured} | {baseline} | {ratio} | {row.Target} | {met} | {notes} |");
        }

        return text.ToString();
    }

    /// <summary>
    /// Writes this run as <c>run-{start}.json</c> (the machine and every row it measured) and merges its rows into
    /// <c>latest.json</c>: a row measured now replaces the one of the same id, each row carries the run it came from, so
    /// a partial run (<c>--only</c>) updates its rows and leaves the others, with their own dates, as they were.
    /// Returns the dated file's path.
    /// </summary>
    public static async Task<string> WriteJsonAsync(string directory, MachineInfo machine, IReadOnlyList<BenchRow> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(machine);
        Directory.CreateDirectory(directory);
        var run = $"run-{machine.StartedUtc.Replace(':', '-')}.json";
        var runPath = Path.Combine(directory, run);
        await File.WriteAllTextAsync(runPath, JsonSerializer.Serialize(new { Machine = machine, Rows = rows }, Json) + "\n", cancellationToken);

        var latestPath = Path.Combine(directory, "latest.json");
        var latest = File.Exists(latestPath) ? JsonNode.Parse(await File.ReadAllTextAsync(latestPath, cancellationToken)) as JsonObject : null;
        var merged = new SortedDictionary<int, JsonNode>();
        foreach (var old in latest?["rows"] as JsonArray ?? [])
        {
            if (old?["id"]?.GetValue<string>() is { } id && int.TryParse(id, CultureInfo.InvariantCulture, out var n))
            {
                merged[n] = old.DeepClone();
            }
        }

        foreach (var row in rows)
        {
            var node = JsonSerializer.SerializeToNode(row, Json)!.AsObject();
            node["run"] = run;
            node["measured_utc"] = machine.StartedUtc;
            merged[int.Parse(row.Id, CultureInfo.InvariantCulture)] = node;
        }

        var document = new JsonObject
        {
            ["note"] = "every row's latest measurement; each names the run (a run-*.json beside this file) it came from",
            ["last_run"] = JsonSerializer.SerializeToNode(machine, Json),
            ["rows"] = new JsonArray([.. merged.Values]),
        };
        await File.WriteAllTextAsync(latestPath, document.ToJsonString(Json) + "\n", cancellationToken);
        return runPath;
    }
}

/// <summary>Where the figures were taken: they mean little without it.</summary>
public sealed record MachineInfo(string StartedUtc, string Os, string Cpu, int Cores, long MemoryMiB, string Runtime, string? Rgw, int Rounds)
{
    public static MachineInfo Describe(int rounds, string? rgw)
    {
        var cpu = "unknown";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }

        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024);
        return new MachineInfo(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            System.Runtime.InteropServices.RuntimeInformation.OSDescription, cpu, Environment.ProcessorCount, memory,
            System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription, rgw, rounds);
    }
}
