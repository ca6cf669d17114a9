using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace WorkspaceStorage.Testing.Support;

/// <summary>Collects log lines so tests can check what was (not) logged.</summary>
public class ListLogger : ILogger
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        Lines.Enqueue($"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
    }

    public string All => string.Join('\n', Lines);
}

/// <summary>A <see cref="ListLogger"/> for classes that ask for an <see cref="ILogger{TCategoryName}"/>.</summary>
public sealed class ListLogger<T> : ListLogger, ILogger<T>;
