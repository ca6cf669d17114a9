namespace WorkspaceStorage.Testing.Hypha;

/// <summary>
/// An xunit class or collection fixture owning one <see cref="HyphaTestServer"/>. Tests call <see cref="Require"/>:
/// where the kit cannot run they are skipped with the reason and the start hint, and under <c>make test</c>
/// (<c>WSO_TEST_HYPHA_REQUIRED=1</c>) they fail instead. Override <see cref="ServerOptions"/> for Hypha flags or a
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

    /// <summary>The running server, or a skip (a failure under WSO_TEST_HYPHA_REQUIRED=1) when there is none.</summary>
    public HyphaTestServer Require()
    {
        if (server is not null)
        {
            return server;
        }

        var why = unavailable ?? "no Hypha server";
        if (Environment.GetEnvironmentVariable(HyphaTestServer.RequiredVariable) == "1")
        {
            throw new InvalidOperationException($"{why}; make test requires it ({HyphaTestServer.RequiredVariable}=1)");
        }

        Assert.Skip(why);
        return null!;
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
