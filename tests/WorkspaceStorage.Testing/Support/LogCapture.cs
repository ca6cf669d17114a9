using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace WorkspaceStorage.Testing.Support;

/// <summary>
/// The suite's one log capture: an <see cref="ILoggerProvider"/> for hosts and logger factories, and itself an
/// <see cref="ILogger"/> (<see cref="LogCapture{T}"/>: an <see cref="ILogger{T}"/>) for classes given a logger. Each line
/// holds the time, level, category, message, the structured values and the whole exception, so tests can show what
/// happened and search every part of a log entry for secrets. The oldest lines go beyond <c>maxLines</c>.
/// </summary>
public class LogCapture(int maxLines = 20_000) : ILoggerProvider, ILogger
{
    private readonly ConcurrentQueue<string> lines = new();

    /// <summary>Scopes become lines of their own ("scope {category}: {state}"), for secret searches that must cover them.</summary>
    public bool RecordScopes { get; init; }

    public IReadOnlyList<string> Lines => [.. lines];

    public string All => string.Join('\n', lines);

    public string Tail(int count) => string.Join(Environment.NewLine, lines.TakeLast(count));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public ILogger<T> CreateLogger<T>() => new Logger<T>(this);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => Scope("", state);

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Add("", logLevel, state, exception, formatter);

    public void Dispose()
    {
        GC.SuppressFinalize(this);
    }

    private IDisposable? Scope<TState>(string category, TState state)
    {
        if (RecordScopes)
        {
            Enqueue($"scope {category}: {state}");
        }

        return null;
    }

    private void Add<TState>(string category, LogLevel logLevel, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}")) : "";
        Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)} [{values}]{(exception is null ? "" : " " + exception)}");
    }

    private void Enqueue(string line)
    {
        lines.Enqueue(line);
        while (lines.Count > maxLines && lines.TryDequeue(out _))
        {
        }
    }

    private sealed class Logger(LogCapture sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => sink.Scope(category, state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Add(category, logLevel, state, exception, formatter);
    }

    private sealed class Logger<T>(LogCapture sink) : ILogger<T>
    {
        private readonly Logger inner = new(sink, typeof(T).FullName ?? typeof(T).Name);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }
}

/// <summary>A <see cref="LogCapture"/> for classes that ask for an <see cref="ILogger{TCategoryName}"/>.</summary>
public sealed class LogCapture<T>(int maxLines = 20_000) : LogCapture(maxLines), ILogger<T>;
