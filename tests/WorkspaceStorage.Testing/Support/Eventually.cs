
namespace WorkspaceStorage.Testing.Support;

/// <summary>
/// The suite's one poll loop. Every wait is bounded (<see cref="DefaultTimeout"/> unless told), ends when the test is
/// cancelled (<see cref="TestContext"/>'s token unless given one), and a timeout fails the test naming what was awaited
/// and the last value observed. Exceptions other than assertion failures count as "not yet" and are shown as the last
/// observation; an assertion thrown by a condition or probe fails the test at once.
/// </summary>
public static class Eventually
{
    /// <summary>Generous on purpose: a loaded 2-core machine, not a latency budget. Latency is measured in `make bench`.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan FirstInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Polls until <paramref name="condition"/> holds; <paramref name="observe"/>'s last value goes into the failure message.</summary>
    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null, Func<object?>? observe = null,
        CancellationToken? cancellationToken = null) =>
        TrueAsync(_ => Task.FromResult(condition()), what, timeout, observe, cancellationToken);

    /// <summary>Polls until the asynchronous <paramref name="condition"/> holds; <paramref name="observe"/>'s last value goes into the failure message.</summary>
    public static Task TrueAsync(Func<CancellationToken, Task<bool>> condition, string what, TimeSpan? timeout = null, Func<object?>? observe = null,
        CancellationToken? cancellationToken = null) =>
        WaitAsync(what, timeout ?? DefaultTimeout, async ct =>
        {
            var done = await condition(ct);
            return (done, done, observe is null ? "condition false" : Describe(observe()));
        }, cancellationToken ?? TestContext.Current.CancellationToken);

    /// <summary>
    /// Polls <paramref name="observe"/> until <paramref name="accept"/> takes its value, and returns that value; the last
    /// value (through <paramref name="describe"/> when given) goes into the failure message.
    /// </summary>
    public static Task<T> ValueAsync<T>(Func<CancellationToken, Task<T>> observe, Func<T, bool> accept, string what, TimeSpan? timeout = null,
        Func<T, string>? describe = null, CancellationToken? cancellationToken = null) =>
        WaitAsync(what, timeout ?? DefaultTimeout, async ct =>
        {
            var value = await observe(ct);
            return (accept(value), value, describe is null ? Describe(value) : describe(value));
        }, cancellationToken ?? TestContext.Current.CancellationToken);

    /// <summary>The synchronous form: polls <paramref name="observe"/> until <paramref name="accept"/> takes its value.</summary>
    public static Task<T> ValueAsync<T>(Func<T> observe, Func<T, bool> accept, string what, TimeSpan? timeout = null, Func<T, string>? describe = null) =>
        ValueAsync(_ => Task.FromResult(observe()), accept, what, timeout, describe);

    /// <param name="probe">Returns (done, what it saw); the last observation goes into the failure message.</param>
    public static Task WaitAsync(string what, TimeSpan timeout, Func<CancellationToken, Task<(bool Done, string Seen)>> probe, CancellationToken cancellationToken) =>
        WaitAsync(what, timeout, async ct =>
        {
            var (done, seen) = await probe(ct);
            return (done, true, seen);
        }, cancellationToken);

    /// <param name="probe">Returns (done, the value to return when done, what it saw); the last observation goes into the failure message.</param>
    public static async Task<T> WaitAsync<T>(string what, TimeSpan timeout, Func<CancellationToken, Task<(bool Done, T Value, string Seen)>> probe,
        CancellationToken cancellationToken)
    {
        // The deadline also cancels a probe that blocks (one that awaits an event itself), so every wait ends in time.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var interval = FirstInterval;
        var seen = "nothing yet";
        while (true)
        {
            try
            {
                var (done, value, observation) = await probe(deadline.Token);
                if (done)
                {
                    return value;
                }

                seen = observation;
            }
            catch (Exception error) when (error is not Xunit.Sdk.IAssertionException && !cancellationToken.IsCancellationRequested)
            {
                if (!deadline.IsCancellationRequested)
                {
                    seen = $"{error.GetType().Name}: {error.Message}";
                }
            }

            try
            {
                deadline.Token.ThrowIfCancellationRequested();
                await Task.Delay(interval, deadline.Token); // the pace of the poll, not a wait for an outcome
            }
            catch (OperationCanceledException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Assert.Fail($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}; last seen: {seen}");
            }

            interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, MaxInterval.Ticks));
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string text => text,
        System.Collections.IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(i => i?.ToString() ?? "null")) + "]",
        _ => value.ToString() ?? "",
    };
}
