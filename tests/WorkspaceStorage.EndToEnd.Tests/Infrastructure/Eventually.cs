namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>Bounded polling: every wait ends, and a timeout says what was awaited and what was last seen.</summary>
internal static class Eventually
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    /// <param name="probe">Returns (done, what it saw); the last observation goes into the failure message.</param>
    public static async Task<T> WaitAsync<T>(string what, TimeSpan timeout, Func<CancellationToken, Task<(bool Done, T Value, string Seen)>> probe,
        CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var seen = "nothing yet";
        while (true)
        {
            try
            {
                var (done, value, observation) = await probe(cancellationToken);
                if (done)
                {
                    return value;
                }

                seen = observation;
            }
            catch (Exception error) when (error is not Xunit.Sdk.IAssertionException && (error is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
            {
                seen = $"{error.GetType().Name}: {error.Message}";
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:0}s waiting for {what}; last seen: {seen}");
            }

            await Task.Delay(Interval, cancellationToken);
        }
    }

    public static Task WaitAsync(string what, TimeSpan timeout, Func<CancellationToken, Task<(bool Done, string Seen)>> probe, CancellationToken cancellationToken) =>
        WaitAsync(what, timeout, async ct =>
        {
            var (done, seen) = await probe(ct);
            return (done, true, seen);
        }, cancellationToken);
}
