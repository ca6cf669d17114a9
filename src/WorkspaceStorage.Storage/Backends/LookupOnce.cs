
namespace WorkspaceStorage.Storage.Backends;

/// <summary>
/// A value a backend looks up once, on first use, however many callers ask at the same time (who the admin is, which
/// account it is in). A failed lookup caches nothing: the next caller tries again.
/// </summary>
public sealed class LookupOnce<T>(Func<CancellationToken, Task<T>> lookup) where T : class
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private T? value;

    public async Task<T> GetAsync(CancellationToken cancellationToken)
    {
        if (value is { } known)
        {
            return known;
        }

        await gate.WaitAsync(cancellationToken);
        try
        {
            return value ??= await lookup(cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }
}
