using System.Diagnostics;
using Xunit;

namespace WorkspaceStorage.Testing.Support;

public static class Eventually
{
    /// <summary>Polls until the condition holds; fails the test with <paramref name="what"/> when it does not in time.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                Assert.Fail($"Timed out after {limit} waiting for: {what}");
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
