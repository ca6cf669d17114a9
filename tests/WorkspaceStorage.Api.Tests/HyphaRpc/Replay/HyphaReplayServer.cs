using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace WorkspaceStorage.Api.Tests.HyphaRpc.Replay;

/// <summary>
/// A run of recorded frames replayed as one step of the test. <paramref name="OnConnection"/> plays the frames on another
/// recorded connection's socket; <paramref name="Rewrites"/> replaces recorded server values literally (both directions).
/// </summary>
internal sealed record ReplayPhase(string Name, IReadOnlyList<int> Lines, int? OnConnection = null, IReadOnlyDictionary<string, string>? Rewrites = null);

/// <summary>
/// Plays the SERVER side of a Hypha recording to a real client: a <see cref="TcpListener"/> on 127.0.0.1 (port 0, the
/// port read back), the HTTP upgrade of <c>GET /ws</c> parsed by hand and compared with the recorded request, then
/// <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/> as the server end. Frames the server sent
/// are sent (templated, see <see cref="ReplayTemplates"/>); frames the client sent are awaited and compared field by
/// field, in order. Time-driven frames of the client (see <see cref="IsTimeDriven"/>) are skipped when they come
/// between the expected ones; anything else out of order fails the replay, naming the frame and every differing field.
/// </summary>
internal sealed partial class HyphaReplayServer : IAsyncDisposable
{
    /// <summary>What the recording's Host header and URLs say (the proxy the companion talked to, and Hypha itself).</summary>
    public const string RecordedProxyAuthority = "127.0.0.1:9712";
    public const string RecordedHyphaBaseUrl = "http://127.0.0.1:9711";

    private const string WebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private readonly TcpListener listener;
    private readonly ReplayTemplates templates;
    private readonly TimeSpan waitLimit;
    private readonly Func<string> companionState;
    private readonly Dictionary<int, ReplayConnection> connections = [];
    private readonly List<string> skipped = [];
    private readonly List<(string Phase, TimeSpan Took)> timings = [];
    private string lastMatched = "none yet";

    private readonly IReadOnlyList<IntendedChange> intendedChanges;
    private readonly HashSet<IntendedChange> metChanges = [];

    /// <param name="intendedChanges">Recorded fields the companion now sends differently on purpose, each with why.</param>
    public HyphaReplayServer(ServerValues server, TimeSpan waitLimit, Func<string> companionState, IReadOnlyList<IntendedChange>? intendedChanges = null)
    {
        this.intendedChanges = intendedChanges ?? [];
        templates = new ReplayTemplates(server);
        this.waitLimit = waitLimit;
        this.companionState = companionState;
        listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public int Port { get; }

    /// <summary>The URL to give the companion as <c>HyphaRegistration:ServerUrl</c>.</summary>
    public Uri Url => new($"http://127.0.0.1:{Port}");

    /// <summary>Client frames compared with the recording (handshake requests, text, binary and close frames).</summary>
    public int Compared { get; private set; }

    /// <summary>Server frames sent (handshake answers, text, binary, close).</summary>
    public int Sent { get; private set; }

    /// <summary>Time-driven client frames passed over, with where.</summary>
    public IReadOnlyList<string> Skipped => skipped;

    public ReplayTemplates Templates => templates;

    /// <summary>Intended changes that no frame of this run needed: stale, the recording and the code agree again there.</summary>
    public IReadOnlyList<IntendedChange> UnmetChanges => [.. intendedChanges.Where(c => !metChanges.Contains(c))];

    /// <summary>How long each phase took (the waits are the companion's: backoff, its own timers).</summary>
    public IReadOnlyList<(string Phase, TimeSpan Took)> Timings => timings;

    public async Task PlayAsync(HyphaRecording recording, ReplayPhase phase, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var line in phase.Lines)
        {
            var frame = Rewrite(recording[line], phase);
            try
            {
                await StepAsync(frame, phase.OnConnection ?? frame.Connection, cancellationToken);
            }
            catch (ReplayException ex)
            {
                throw new ReplayException($"Replay diverged at {recording.Path} {frame}, phase \"{phase.Name}\": {ex.Message}\n" +
                    $"(before it, {Compared} client frames matched, the last at {lastMatched}; companion: {companionState()})");
            }
        }

        timings.Add((phase.Name, System.Diagnostics.Stopwatch.GetElapsedTime(started)));
    }

    public async ValueTask DisposeAsync()
    {
        listener.Stop();
        foreach (var connection in connections.Values)
        {
            await connection.DisposeAsync();
        }
    }

    /// <summary>
    /// The kinds a client sends on its own clock, never in answer to the server: the app-level keepalive
    /// <c>{"type":"ping"}</c> (every 20 s) and the on-demand clean-up's <c>list_workspaces</c> poll (every 30 s). They are
    /// not replayed (their timing is not the protocol); one arriving while another frame is expected is skipped and
    /// counted, and a poll gets no answer (the client's call times out, which a poll tolerates). The third time-driven
    /// kind of the recording, the WS pong control frames .NET sends unprompted, never reaches this code: the server
    /// WebSocket consumes control frames itself.
    /// </summary>
    private static bool IsTimeDriven(ClientMessage message) => Decode(message) switch
    {
        Dictionary<string, object?> text when message.Kind == WebSocketMessageType.Text =>
            text.Count == 1 && text.GetValueOrDefault("type") as string == "ping",
        Dictionary<string, object?> frame when frame.GetValueOrDefault("main") is Dictionary<string, object?> main =>
            main.GetValueOrDefault("method") as string == "services.default.list_workspaces",
        _ => false,
    };

    /// <summary>A text message as JSON, a binary one as <c>{main, extra}</c>; a frame that is neither fails the replay.</summary>
    private static object? Decode(ClientMessage message)
    {
        try
        {
            return message.Kind switch
            {
                WebSocketMessageType.Text => PlainValues.FromJson(Encoding.UTF8.GetString(message.Data)),
                WebSocketMessageType.Binary => PlainValues.DecodeFrame(message.Data),
                _ => null,
            };
        }
        catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException or MessagePack.MessagePackSerializationException or EndOfStreamException)
        {
            throw new ReplayException($"the companion sent a {message.Kind} frame of {message.Data.Length} bytes that is not Hypha's format: {ex.Message}");
        }
    }

    private async Task StepAsync(RecordedFrame frame, int connection, CancellationToken cancellationToken)
    {
        switch (frame.Kind, frame.FromClient)
        {
            case ("handshake-request", true):
                await AcceptAsync(frame, connection, cancellationToken);
                Matched(frame);
                break;
            case ("handshake-response", false):
                await Connection(frame, connection).UpgradeAsync(frame.Http!, cancellationToken);
                Sent++;
                break;
            case ("event", _) when frame.Event == "upstream-refused":
                // Hypha was down: the recording's proxy answered the upgrade with 502 and closed.
                await Connection(frame, connection).RefuseAsync(cancellationToken);
                connections.Remove(connection);
                Sent++;
                break;
            case ("text" or "binary", true):
                await ExpectMessageAsync(frame, Connection(frame, connection), cancellationToken);
                Matched(frame);
                break;
            case ("text" or "binary", false):
                await SendMessageAsync(frame, Connection(frame, connection), cancellationToken);
                Sent++;
                break;
            case ("close", true):
                await ExpectCloseAsync(frame, Connection(frame, connection), cancellationToken);
                Matched(frame);
                break;
            case ("close", false):
                // An answer to the client's close, or Hypha going down (close 1012 then the socket ends, as uvicorn did).
                await Connection(frame, connection).CloseAsync((WebSocketCloseStatus)frame.CloseCode!.Value, frame.CloseReason ?? "", cancellationToken);
                connections.Remove(connection);
                Sent++;
                break;
            default:
                throw new ReplayException($"the replay cannot play a {frame.Direction} {frame.Kind} frame");
        }
    }

    private void Matched(RecordedFrame frame)
    {
        Compared++;
        lastMatched = $"line {frame.Line}";
    }

    private ReplayConnection Connection(RecordedFrame frame, int connection) =>
        connections.TryGetValue(connection, out var open)
            ? open
            : throw new ReplayException($"recorded connection {connection} is not open here (its handshake was not replayed)");

    private async Task AcceptAsync(RecordedFrame frame, int connection, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(waitLimit);
        TcpClient client;
        try
        {
            client = await listener.AcceptTcpClientAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ReplayException($"the companion opened no connection within {waitLimit.TotalSeconds:0} s");
        }

        var open = new ReplayConnection(client, waitLimit);
        connections[connection] = open;
        var request = await open.ReadHttpRequestAsync(cancellationToken);
        var differences = CompareHandshake(frame.Http!, request);
        if (differences.Count > 0)
        {
            throw new ReplayException(Describe(differences));
        }
    }

    /// <summary>Request line exactly; headers in order, the Host's port templated and the key by its shape.</summary>
    private List<FieldDifference> CompareHandshake(string recorded, string sent)
    {
        var r = recorded.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var s = sent.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var differences = new List<FieldDifference>();
        if (r[0] != s[0])
        {
            differences.Add(new FieldDifference("http.request-line", r[0], s[0]));
        }

        for (var i = 1; i < Math.Max(r.Length, s.Length); i++)
        {
            var expected = i < r.Length ? r[i] : "(absent)";
            var actual = i < s.Length ? s[i] : "(absent)";
            var matches = expected.StartsWith("Host: ", StringComparison.Ordinal)
                ? actual == expected.Replace(RecordedProxyAuthority, $"127.0.0.1:{Port}", StringComparison.Ordinal)
                : expected.StartsWith("Sec-WebSocket-Key: ", StringComparison.Ordinal)
                    ? WebSocketKey().IsMatch(actual)
                    : actual == expected;
            if (!matches)
            {
                differences.Add(new FieldDifference($"http.header[{i - 1}]", expected, actual));
            }
        }

        return differences;
    }

    private async Task ExpectMessageAsync(RecordedFrame frame, ReplayConnection connection, CancellationToken cancellationToken)
    {
        while (true)
        {
            var message = await connection.NextAsync(cancellationToken)
                ?? throw new ReplayException($"nothing arrived within {waitLimit.TotalSeconds:0} s");
            var shown = Show(message);
            if (message.Kind is WebSocketMessageType.Text or WebSocketMessageType.Binary && IsTimeDriven(message))
            {
                skipped.Add($"before {frame}: {shown}");
                continue;
            }

            var expectedKind = frame.Kind == "text" ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
            if (message.Kind != expectedKind)
            {
                throw new ReplayException($"recorded a {frame.Kind} frame {PlainValues.Show(frame.Json)}, the companion sent {shown}");
            }

            var sent = Decode(message);
            var differences = new List<FieldDifference>();
            templates.Compare(frame, frame.Json, sent, "$", differences);
            IntendedChange.Explain(intendedChanges, frame.Line, differences, metChanges);
            if (differences.Count > 0)
            {
                throw new ReplayException(Describe(differences));
            }

            return;
        }
    }

    private async Task ExpectCloseAsync(RecordedFrame frame, ReplayConnection connection, CancellationToken cancellationToken)
    {
        while (true)
        {
            var message = await connection.NextAsync(cancellationToken)
                ?? throw new ReplayException($"no close frame within {waitLimit.TotalSeconds:0} s");
            var shown = Show(message);
            if (message.Kind is WebSocketMessageType.Text or WebSocketMessageType.Binary && IsTimeDriven(message))
            {
                skipped.Add($"before {frame}: {shown}");
                continue;
            }

            if (message.Kind != WebSocketMessageType.Close)
            {
                throw new ReplayException($"recorded the companion's close {frame.CloseCode} \"{frame.CloseReason}\", it sent {shown}");
            }

            var differences = new List<FieldDifference>();
            if ((int?)message.CloseStatus != frame.CloseCode)
            {
                differences.Add(new FieldDifference("close.code", $"{frame.CloseCode}", $"{(int?)message.CloseStatus}"));
            }

            if ((message.CloseDescription ?? "") != (frame.CloseReason ?? ""))
            {
                differences.Add(new FieldDifference("close.reason", $"\"{frame.CloseReason}\"", $"\"{message.CloseDescription}\""));
            }

            if (differences.Count > 0)
            {
                throw new ReplayException(Describe(differences));
            }

            return;
        }
    }

    private async Task SendMessageAsync(RecordedFrame frame, ReplayConnection connection, CancellationToken cancellationToken)
    {
        var value = templates.ForSending(frame, frame.Json);
        if (frame.Kind == "text")
        {
            await connection.SendAsync(Encoding.UTF8.GetBytes(PlainValues.ToJson(value)), WebSocketMessageType.Text, cancellationToken);
        }
        else
        {
            var parts = (Dictionary<string, object?>)value!;
            await connection.SendAsync(PlainValues.EncodeFrame(parts["main"], parts["extra"]), WebSocketMessageType.Binary, cancellationToken);
        }
    }

    /// <summary>The phase's rewrites, and Hypha's recorded base URL (connection_info) as this server's.</summary>
    private RecordedFrame Rewrite(RecordedFrame frame, ReplayPhase phase)
    {
        var rewrites = new Dictionary<string, string>(phase.Rewrites ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [RecordedHyphaBaseUrl] = Url.ToString().TrimEnd('/'),
        };
        return frame with { Json = Replace(frame.Json, rewrites) };
    }

    private static object? Replace(object? value, IReadOnlyDictionary<string, string> rewrites) => value switch
    {
        _ when rewrites.Count == 0 => value,
        string text => rewrites.Aggregate(text, (t, r) => t.Replace(r.Key, r.Value, StringComparison.Ordinal)),
        List<object?> list => list.Select(v => Replace(v, rewrites)).ToList(),
        Dictionary<string, object?> map => map.ToDictionary(kv => kv.Key, kv => Replace(kv.Value, rewrites), StringComparer.Ordinal),
        _ => value,
    };

    private static string Describe(List<FieldDifference> differences) =>
        $"{differences.Count} field{(differences.Count == 1 ? "" : "s")} differ{(differences.Count == 1 ? "s" : "")}:\n  " + string.Join("\n  ", differences);

    private static string Show(ClientMessage message) => message.Kind switch
    {
        WebSocketMessageType.Text => "text " + PlainValues.Show(WithoutTokens(Decode(message))),
        WebSocketMessageType.Binary => "binary " + PlainValues.Show(Decode(message)),
        WebSocketMessageType.Close when message.CloseStatus is null => $"the end of the socket ({message.CloseDescription})",
        _ => $"close {(int?)message.CloseStatus} \"{message.CloseDescription}\"",
    };

    // A handshake frame carries a token: never show it in a failure message.
    private static object? WithoutTokens(object? json) => json is Dictionary<string, object?> map
        ? map.ToDictionary(kv => kv.Key, kv => kv.Key is "token" or "reconnection_token" && kv.Value is string ? "(a token, not shown)" : kv.Value, StringComparer.Ordinal)
        : json;

    // RFC 6455 §4.2.2 fixes SHA-1 for Sec-WebSocket-Accept; it proves nothing secret.
#pragma warning disable CA5350
    internal static string AcceptKey(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + WebSocketGuid)));
#pragma warning restore CA5350

    [GeneratedRegex("^Sec-WebSocket-Key: [A-Za-z0-9+/]{22}==$")]
    private static partial Regex WebSocketKey();

    /// <summary>One message from the client, its close, or (CloseStatus null, Kind Close) the end of the socket.</summary>
    private sealed record ClientMessage(WebSocketMessageType Kind, byte[] Data, WebSocketCloseStatus? CloseStatus, string? CloseDescription);

    /// <summary>One accepted TCP connection: the HTTP upgrade, then the server end of the WebSocket and its reader.</summary>
    private sealed class ReplayConnection(TcpClient client, TimeSpan waitLimit) : IAsyncDisposable
    {
        private readonly NetworkStream stream = client.GetStream();
        private readonly Channel<ClientMessage> received = Channel.CreateUnbounded<ClientMessage>();
        private string? request;
        private WebSocket? socket;
        private Task reader = Task.CompletedTask;

        /// <summary>Reads byte by byte up to the blank line: nothing of the WebSocket that follows is consumed.</summary>
        public async Task<string> ReadHttpRequestAsync(CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(waitLimit);
            var bytes = new List<byte>(512);
            var one = new byte[1];
            try
            {
                while (bytes.Count < 16 * 1024)
                {
                    if (await stream.ReadAsync(one, timeout.Token) == 0)
                    {
                        throw new ReplayException($"the connection ended inside the HTTP request ({Encoding.ASCII.GetString([.. bytes])})");
                    }

                    bytes.Add(one[0]);
                    if (bytes.Count >= 4 && bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n')
                    {
                        request = Encoding.ASCII.GetString([.. bytes]);
                        return request;
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ReplayException($"no complete HTTP request within {waitLimit.TotalSeconds:0} s (got {bytes.Count} bytes)");
            }

            throw new ReplayException("an HTTP request of more than 16 KiB");
        }

        /// <summary>Answers 101 as recorded (the Accept computed from this request's key, today's date), then serves the WebSocket.</summary>
        public async Task UpgradeAsync(string recordedResponse, CancellationToken cancellationToken)
        {
            var key = request?.Split("\r\n").FirstOrDefault(l => l.StartsWith("Sec-WebSocket-Key: ", StringComparison.OrdinalIgnoreCase))?["Sec-WebSocket-Key: ".Length..]
                ?? throw new ReplayException("the request has no Sec-WebSocket-Key");
            var response = string.Join("\r\n", recordedResponse.Split("\r\n").Select(l =>
                l.StartsWith("Sec-WebSocket-Accept: ", StringComparison.Ordinal) ? "Sec-WebSocket-Accept: " + AcceptKey(key)
                : l.StartsWith("date: ", StringComparison.Ordinal) ? "date: " + DateTime.UtcNow.ToString("r", System.Globalization.CultureInfo.InvariantCulture)
                : l));
            await WriteAsync(response, cancellationToken);

            // Hypha sent no WebSocket ping in the recording: no keep-alive from this end either.
            socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
            reader = Task.Run(ReadLoopAsync, CancellationToken.None);
        }

        /// <summary>What the recording's proxy did while Hypha was down: 502 to the upgrade, then close.</summary>
        public async Task RefuseAsync(CancellationToken cancellationToken)
        {
            await WriteAsync("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", cancellationToken);
            await DisposeAsync();
        }

        public async Task SendAsync(byte[] payload, WebSocketMessageType type, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(waitLimit);
            try
            {
                await Socket.SendAsync(payload, type, endOfMessage: true, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new ReplayException($"sending the recorded frame failed ({ex.GetType().Name}: {ex.Message}; socket {Socket.State})");
            }
        }

        /// <summary>The next message, close or end of the socket; null when nothing came within the wait limit.</summary>
        public async Task<ClientMessage?> NextAsync(CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(waitLimit);
            try
            {
                return await received.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
            catch (ChannelClosedException)
            {
                return new ClientMessage(WebSocketMessageType.Close, [], null, "the socket had already ended");
            }
        }

        /// <summary>Sends the close frame (bounded), then ends the connection.</summary>
        public async Task CloseAsync(WebSocketCloseStatus status, string reason, CancellationToken cancellationToken)
        {
            if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(waitLimit);
                try
                {
                    await Socket.CloseOutputAsync(status, reason, timeout.Token);
                }
                catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    throw new ReplayException($"sending the recorded close failed ({ex.GetType().Name}: {ex.Message})");
                }
            }

            await DisposeAsync();
        }

        public async ValueTask DisposeAsync()
        {
            socket?.Abort();
            socket?.Dispose();
            client.Dispose();
            await reader.WaitAsync(waitLimit).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        private WebSocket Socket => socket ?? throw new ReplayException("the WebSocket of this connection was not opened (no handshake response replayed)");

        private async Task WriteAsync(string http, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(waitLimit);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(http), timeout.Token);
        }

        private async Task ReadLoopAsync()
        {
            var buffer = new byte[64 * 1024];
            var message = new MemoryStream();
            try
            {
                while (true)
                {
                    var result = await Socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await received.Writer.WriteAsync(new ClientMessage(WebSocketMessageType.Close, [], Socket.CloseStatus, Socket.CloseStatusDescription));
                        return;
                    }

                    message.Write(buffer, 0, result.Count);
                    if (result.EndOfMessage)
                    {
                        await received.Writer.WriteAsync(new ClientMessage(result.MessageType, message.ToArray(), null, null));
                        message.SetLength(0);
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                received.Writer.TryWrite(new ClientMessage(WebSocketMessageType.Close, [], null, $"{ex.GetType().Name}: {ex.Message}"));
            }
            finally
            {
                received.Writer.TryComplete();
            }
        }
    }
}
