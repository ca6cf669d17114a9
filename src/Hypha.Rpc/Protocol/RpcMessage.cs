namespace Hypha.Rpc.Protocol;

/// <summary>A decoded RPC message (main and extra merged) with typed access to the fields the client routes on.</summary>
internal sealed class RpcMessage(IReadOnlyDictionary<string, object?> fields)
{
    public IReadOnlyDictionary<string, object?> Fields { get; } = fields;

    public string? Type => Text("type");

    public string? From => Text("from");

    public string? To => Text("to");

    public string? Method => Text("method");

    /// <summary>The caller's session: present when the caller waits for an answer.</summary>
    public string? Session => Text("session");

    public string? Ws => Text("ws");

    public IReadOnlyList<object?> Args => Fields.TryGetValue("args", out var a) && a is IReadOnlyList<object?> list ? list : [];

    public bool WithKwargs => Fields.TryGetValue("with_kwargs", out var w) && w is true;

    public object? Promise => Fields.GetValueOrDefault("promise");

    /// <summary>The caller's heartbeat period in seconds (<c>t</c>, short promise form).</summary>
    public double? HeartbeatSeconds => Number(Fields.GetValueOrDefault("t"));

    public string? Text(string key) => Fields.TryGetValue(key, out var v) ? v as string : null;

    public static double? Number(object? value) => value switch
    {
        long l => l,
        double d => d,
        ulong u => u,
        _ => null,
    };
}
