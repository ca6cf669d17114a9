using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>Keeps every line the in-process operator logs, so tests can show them on failure and check that no key leaked.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private const int MaxLines = 20_000;
    private readonly ConcurrentQueue<string> lines = new();

    public IReadOnlyList<string> Lines => [.. lines];

    public string Tail(int count) => string.Join(Environment.NewLine, lines.TakeLast(count));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        lines.Enqueue(line);
        while (lines.Count > MaxLines && lines.TryDequeue(out _))
        {
        }
    }

    private sealed class Logger(CapturedLogs sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}";
            sink.Add(exception is null ? text : $"{text} ({exception.GetType().Name}: {exception.Message})");
        }
    }
}
