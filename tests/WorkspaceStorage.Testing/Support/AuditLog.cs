using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace WorkspaceStorage.Testing.Support;

/// <summary>One audit log record as a SIEM would index it: its event id, rendered message and named fields.</summary>
public sealed record AuditRecord(int EventId, string Message, IReadOnlyDictionary<string, string?> Fields)
{
    public string? this[string field] => Fields.GetValueOrDefault(field);

    /// <summary>Null when every field of <paramref name="expected"/> has its value (a null value: the field is there, empty); else what differs.</summary>
    public string? Mismatch(IReadOnlyDictionary<string, string?> expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var wrong = expected.Where(e => !Fields.TryGetValue(e.Key, out var value) || value != e.Value)
            .Select(e => $"{e.Key}: expected '{e.Value}', got '{this[e.Key] ?? "(missing)"}'").ToList();
        return wrong.Count == 0 ? null : string.Join("; ", wrong) + " in: " + All;
    }

    /// <summary>Throws, with the whole record in the message, unless every field of <paramref name="expected"/> has its value.</summary>
    public void RequireFields(IReadOnlyDictionary<string, string?> expected)
    {
        if (Mismatch(expected) is { } wrong)
        {
            throw new InvalidOperationException("audit record fields differ: " + wrong);
        }
    }

    /// <summary>Everything the record carries, for secret searches.</summary>
    public string All => Message + " " + string.Join(' ', Fields.Select(f => $"{f.Key}={f.Value}"));
}

/// <summary>
/// Captures the records of the audit logger category ("WorkspaceStorage.Audit") with their structured fields; a logger
/// provider for hosts, or <see cref="Logger"/> for classes given one logger. Others categories are ignored.
/// </summary>
public sealed class AuditLog : ILoggerProvider
{
    public const string Category = "WorkspaceStorage.Audit";

    private readonly ConcurrentQueue<AuditRecord> records = new();

    public IReadOnlyList<AuditRecord> Records => [.. records];

    /// <summary>The audit category's logger.</summary>
    public ILogger Logger => new Sink(this);

    public ILogger CreateLogger(string categoryName) => categoryName == Category ? new Sink(this) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public IReadOnlyList<AuditRecord> OfType(string type) => [.. records.Where(r => r["type"] == type)];

    /// <summary>Waits (polling, never a fixed sleep) for a record of <paramref name="type"/> matching <paramref name="match"/>.</summary>
    public async Task<AuditRecord> WaitForAsync(string type, Func<AuditRecord, bool>? match, TimeSpan timeout, CancellationToken cancellationToken)
    {
        AuditRecord? found = null;
        await Eventually.WaitAsync($"an audit record {type}", timeout, _ =>
        {
            found = OfType(type).FirstOrDefault(r => match?.Invoke(r) ?? true);
            return Task.FromResult((found is not null, string.Join('\n', records.Select(r => r.Message))));
        }, cancellationToken);
        return found!;
    }

    public void Dispose()
    {
    }

    private sealed class Sink(AuditLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var fields = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.Where(p => p.Key != "{OriginalFormat}").ToDictionary(p => p.Key, p => p.Value?.ToString(), StringComparer.Ordinal)
                : [];
            log.records.Enqueue(new AuditRecord(eventId.Id, formatter(state, exception), fields));
        }
    }
}
