using System.Net;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Tests.Host;
using Microsoft.Extensions.Time.Testing;

namespace WorkspaceStorage.Api.Tests.Auth;

/// <summary>The seams other parts plug into: the workspace directory and the clock.</summary>
public sealed class ReplaceableServicesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_registered_workspace_directory_decides_what_is_public()
    {
        await using var api = await TestApi.StartAsync(
            configure: b => b.Services.AddSingleton<IWorkspaceDirectory>(new StaticWorkspaceDirectory(["ws-open"])),
            map: ProbeRoutes.Map);

        using var open = await api.Client.GetAsync("/ws-open/probe/read", Ct);
        using var closed = await api.Client.GetAsync("/ws-closed/probe/read", Ct);

        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, closed.StatusCode);
    }

    [Fact]
    public async Task The_injected_clock_decides_expiry()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var api = await TestApi.StartAsync(map: ProbeRoutes.Map, time: clock);
        var token = api.Tokens.ForWorkspace("ws-alpha", "r", lifetime: TimeSpan.FromMinutes(10));

        using var fresh = await GetAsync(api, token);
        clock.Advance(TimeSpan.FromMinutes(11));
        using var stale = await GetAsync(api, token);

        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
    }

    private static async Task<HttpResponseMessage> GetAsync(TestApi api, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ws-alpha/probe/read");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return await api.Client.SendAsync(request, Ct);
    }

    /// <summary>A fixed set of public workspaces.</summary>
    private sealed class StaticWorkspaceDirectory(IEnumerable<string> publicWorkspaces) : IWorkspaceDirectory
    {
        private readonly HashSet<string> publicWorkspaces = new(publicWorkspaces, StringComparer.Ordinal);

        public ValueTask<bool> IsPublicAsync(Core.Workspaces.WorkspaceId workspace, CancellationToken cancellationToken) =>
            ValueTask.FromResult(publicWorkspaces.Contains(workspace.Value));
    }
}
