using Hypha.Rpc.Protocol;
using Hypha.Rpc.Transport;

namespace Hypha.Rpc.Tests.Support;

/// <summary>A socket that keeps what is sent (binary frames decoded) and lets a test answer each binary frame.</summary>
internal sealed class RecordingSink : IFrameSink
{
    private readonly Lock sync = new();
    private readonly List<Dictionary<string, object?>> binary = [];
    private readonly List<string> text = [];

    /// <summary>Runs on each binary frame as it is sent (for example, to answer a call).</summary>
    public Action<Dictionary<string, object?>>? OnBinary { get; init; }

    /// <summary>Runs on each text frame as it is sent (for example, to play Hypha's pong).</summary>
    public Action<string>? OnText { get; init; }

    public bool Aborted { get; private set; }

    public IReadOnlyList<Dictionary<string, object?>> Binary
    {
        get
        {
            lock (sync)
            {
                return [.. binary];
            }
        }
    }

    public IReadOnlyList<string> Text
    {
        get
        {
            lock (sync)
            {
                return [.. text];
            }
        }
    }

    public Task SendBinaryAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        var fields = RpcFrames.Decode(frame);
        lock (sync)
        {
            binary.Add(fields);
        }

        OnBinary?.Invoke(fields);
        return Task.CompletedTask;
    }

    public Task SendTextAsync(string frame, CancellationToken cancellationToken)
    {
        lock (sync)
        {
            text.Add(frame);
        }

        OnText?.Invoke(frame);
        return Task.CompletedTask;
    }

    public void Abort() => Aborted = true;
}
