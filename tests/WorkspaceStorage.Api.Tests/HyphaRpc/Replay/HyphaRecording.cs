using System.Text.Json;

namespace WorkspaceStorage.Api.Tests.HyphaRpc.Replay;

/// <summary>One line of <c>frames-companion.jsonl</c> (see SCENARIO.md beside it for the format).</summary>
/// <param name="Line">1-based line number in the file: how failure messages name the frame.</param>
/// <param name="Json">For text frames the message; for binary frames <c>{main, extra}</c>; as <see cref="PlainValues"/>.</param>
internal sealed record RecordedFrame(
    int Line,
    long TimeMs,
    int Connection,
    string? Direction,
    string Kind,
    object? Json,
    string? Http,
    int? CloseCode,
    string? CloseReason,
    string? Event)
{
    public bool FromClient => Direction == "c2s";

    public override string ToString() => $"line {Line} (t {TimeMs} ms, conn {Connection}, {Direction} {Kind})";
}

/// <summary>
/// The frames a real Hypha 0.21.135 exchanged with this companion, recorded outside the repository (it is not copied in):
/// <c>../shared/reference/hypha-frames/</c> beside the checkout, which CI always has.
/// </summary>
internal sealed class HyphaRecording
{
    public const string RelativeFolder = "../shared/reference/hypha-frames";
    public const string FileName = "frames-companion.jsonl";

    private readonly Dictionary<int, RecordedFrame> byLine;

    private HyphaRecording(string path, IReadOnlyList<RecordedFrame> frames)
    {
        Path = path;
        Frames = frames;
        byLine = frames.ToDictionary(f => f.Line);
    }

    public string Path { get; }

    public IReadOnlyList<RecordedFrame> Frames { get; }

    public RecordedFrame this[int line] => byLine.TryGetValue(line, out var frame)
        ? frame
        : throw new ArgumentOutOfRangeException(nameof(line), $"{Path} has no line {line}");

    /// <summary>Loads the recording, or fails naming where it looked: a missing recording must not pass as a skipped test.</summary>
    public static HyphaRecording Load()
    {
        var folder = System.IO.Path.GetFullPath(System.IO.Path.Combine(RepositoryRoot.Path, RelativeFolder));
        var path = System.IO.Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            Assert.Fail($"The Hypha recording is missing: looked for {path} ({RelativeFolder}/{FileName} beside the checkout " +
                $"{RepositoryRoot.Path}). CI always has ../shared beside the checkout; locally, put the shared folder there.");
        }

        var frames = new List<RecordedFrame>();
        var number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            int? Int(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
            frames.Add(new RecordedFrame(
                number,
                root.GetProperty("t_ms").GetInt64(),
                Int("conn") ?? 0,
                Text("dir"),
                Text("kind") ?? "",
                root.TryGetProperty("json", out var json) ? PlainValues.FromJson(json) : null,
                Text("http"),
                Int("close_code"),
                Text("close_reason"),
                Text("event")));
        }

        return new HyphaRecording(path, frames);
    }
}
