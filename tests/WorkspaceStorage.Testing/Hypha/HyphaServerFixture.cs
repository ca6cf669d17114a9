namespace WorkspaceStorage.Testing.Hypha;

/// <summary>
/// An xunit class or collection fixture owning one Python <see cref="HyphaTestServer"/>. Tests call <see cref="Require"/>:
/// where there is no Python Hypha (pip could not reach PyPI) they are skipped with that reason, and under
/// <c>WSO_TEST_PYTHON_HYPHA_REQUIRED=1</c> they fail instead. Override <see cref="ServerOptions"/> for Hypha flags or a
/// fixed JWT secret.
/// </summary>
public class HyphaServerFixture : IAsyncLifetime
{
    private HyphaTestServer? server;
    private string? unavailable;

    protected virtual HyphaTestServerOptions ServerOptions => new();

    public async ValueTask InitializeAsync()
    {
        try
        {
            server = await HyphaTestServer.StartAsync(ServerOptions);
        }
        catch (HyphaUnavailableException ex)
        {
            unavailable = ex.Message;
        }
    }

    /// <summary>Whether a server runs (fixtures built on this one start their parts only then, and let the tests skip).</summary>
    public bool IsRunning => server is not null;

    /// <summary>The running server, or a skip (a failure under WSO_TEST_PYTHON_HYPHA_REQUIRED=1) when there is none.</summary>
    public HyphaTestServer Require()
    {
        if (server is null)
        {
            HyphaPython.Unavailable(unavailable ?? "no Hypha server");
        }

        return server!;
    }

    public async ValueTask DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
