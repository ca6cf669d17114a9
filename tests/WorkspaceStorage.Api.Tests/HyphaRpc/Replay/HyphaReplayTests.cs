using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.HyphaRpc;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Api.Tests.HyphaRpc.Replay;

/// <summary>
/// The "real Hypha, replayed" tier: the real companion (its Hypha client, registration, s3-storage RPC service) talks to
/// <see cref="HyphaReplayServer"/>, which plays the server side of frames recorded from a real Hypha 0.21.135 talking to
/// this companion (<c>../shared/reference/hypha-frames/frames-companion.jsonl</c>, SCENARIO.md there), and every frame
/// the companion sends is compared with the recorded one, field by field and in order.
/// <para>
/// What it proves: the companion still sends what a real Hypha accepted — the handshakes, the root-token exchange, the
/// two register_service calls with the whole service description (service_schema included: the contract every Hypha
/// client sees), its answers to the manager's and the orphan checker's calls, two error answers in Hypha's error
/// shape, the reconnection after a Hypha restart with the still-valid token, and the unregistering on shutdown — and
/// that it copes with Hypha's frames as Hypha really shapes them (long-form promises, stamped user contexts, close 1012).
/// </para>
/// <para>
/// What it does not prove: anything Hypha decides. It is a recording: the server's side never reacts, so Hypha's
/// semantics (permissions, routing, which workspace a caller lands in, what Hypha does with the registration) are
/// proven only by the tier that runs the real Python Hypha (<see cref="HyphaTestServer"/>). A change the real Hypha
/// would accept can still fail here (then re-record); a frame outside the replayed phases is not checked at all.
/// </para>
/// </summary>
public sealed class HyphaReplayTests
{
    /// <summary>
    /// Recorded fields the companion now sends differently on purpose, each named with why (none today: the companion
    /// sends what the recorded one did). An entry that no frame needs fails the test as stale.
    /// </summary>
    private static readonly IntendedChange[] IntendedChanges = [];

    /// <summary>Every wait of the replay (a connection, a frame, a close) is bounded by this.</summary>
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    /// <summary>The calls of the anonymous client in the recording act on this workspace (Hypha stamped it as <c>ws</c>).</summary>
    private const string AnonymousWorkspace = "ws-user-anonymouz-silly-kite-17596077";

    // Line numbers of frames-companion.jsonl. Lines left out are named with the reason in the phase that skips them.
    private static readonly ReplayPhase TokenExchange = new("conn 1: root token traded for a public token",
        [2, 3, 4, 5, 6, 7, 8, 9, 10]);

    private static readonly ReplayPhase Register = new("conn 2: connect to public, register built-in then s3-storage",
        [14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);

    // Lines 26-33 and 36-39: seed_flow's calls, which need storage data (presigned URLs of existing objects, listings).
    private static readonly ReplayPhase ManagerGetService = new("conn 2: the manager fetches s3-storage's descriptors",
        [24, 25]);

    // Lines 40-97: heartbeats and list_workspaces polls (time-driven), and the HTTP gateway's calls, which need storage.
    private static readonly ReplayPhase OrphanChecker = new("conn 2: root/orphan-checker's get_service(built-in) and ping",
        [98, 99, 100, 101]);

    private static readonly ReplayPhase HyphaDown = new("conn 2: Hypha goes down (close 1012)",
        [114]);

    // Lines 120-125: three more refusals like this one while Hypha was down; replaying them would only add the client's
    // doubling backoff (about 3.5 s) without a frame the first one does not already check.
    private static readonly ReplayPhase RefusedWhileDown = new("conn 3: a reconnection attempt while Hypha is down (502 from the proxy)",
        [118, 119]);

    private static readonly ReplayPhase Reconnect = new("conn 7: Hypha is up again; reconnect with the still-valid token, register again",
        [126, 127, 128, 129, 130, 131, 132, 133, 134, 135]);

    private static readonly ReplayPhase OrphanCheckerAfterRestart = new("conn 7: the orphan checker of the restarted Hypha",
        [136, 137, 138, 139]);

    private static readonly ReplayPhase ManagerGetServiceAfterRestart = new("conn 7: the new manager fetches s3-storage's descriptors",
        [145, 146]);

    // Lines 147-148: list_files of the anonymous workspace, answered from storage (an empty listing from RGW).
    private static readonly ReplayPhase AnonymousErrors = new("conn 7: an anonymous client's bad calls get Hypha-shaped errors",
        [149, 150, 151, 152]);

    /// <summary>
    /// The recording's only clean stop of a companion registered beside nothing else is connection 13 (companion #1,
    /// after the second restart); its frames are played on connection 7 with that Hypha's manager id replaced by
    /// connection 7's. The client id and the frames' shapes are the same; only the server's manager differs.
    /// </summary>
    private static readonly ReplayPhase Shutdown = new("conn 13 frames on conn 7: the companion stops: unregister s3-storage, then built-in, close",
        [194, 195, 196, 197, 198, 199, 200, 201], OnConnection: 7,
        Rewrites: new Dictionary<string, string> { ["manager-merry-dune-03687739"] = "manager-calm-jade-82958054" });

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_companion_sends_what_it_sent_to_a_real_Hypha_through_exchange_registration_calls_restart_and_shutdown()
    {
        var recording = HyphaRecording.Load();
        var elapsed = Stopwatch.StartNew();
        var secret = HyphaTokenFactory.NewSecret();
        var server = new ServerValues(secret, TimeSpan.FromDays(1));
        var folder = Directory.CreateTempSubdirectory("wso-hypha-replay-");
        var rootTokenFile = Path.Combine(folder.FullName, "root-token");
        await File.WriteAllTextAsync(rootTokenFile, server.RootToken, Ct);
        TestApi? api = null;
        await using var replay = new HyphaReplayServer(server, Wait, () => CompanionState(api), IntendedChanges);
        try
        {
            api = await TestApi.StartAsync(configure: b => b.Services.AddSingleton<IWorkspaceStorageDirectory>(AnonymousWorkspaceStorage()), settings: new Dictionary<string, string?>
            {
                ["HyphaRegistration:ServerUrl"] = replay.Url.ToString(),
                ["HyphaRegistration:RootTokenFile"] = rootTokenFile,

                // As in the recording (SCENARIO.md): Hypha and the companion share the JWT secret, anonymous users may write.
                ["Hypha:JwtSecret"] = secret,
                ["Api:AnonymousUsersMayWrite"] = "true",

                // The recording served ws-user-* from on-demand storage; here the anonymous workspace is in memory (see
                // AnonymousWorkspaceStorage), which answers the replayed calls the same way without an operator. Without
                // on-demand there are no list_workspaces polls either.
                ["Api:WorkspaceSource"] = "memory",
            });

            foreach (var phase in new[] { TokenExchange, Register, ManagerGetService, OrphanChecker, HyphaDown, RefusedWhileDown, Reconnect,
                OrphanCheckerAfterRestart, ManagerGetServiceAfterRestart, AnonymousErrors })
            {
                await replay.PlayAsync(recording, phase, Ct);
            }

            // Stopping the companion is what makes it unregister; the replay answers as Hypha did.
            var stopping = api.DisposeAsync().AsTask();
            api = null;
            await replay.PlayAsync(recording, Shutdown, Ct);
            await stopping.WaitAsync(Wait, Ct);
            Assert.True(replay.UnmetChanges.Count == 0, $"intended changes no frame needed (stale): {string.Join("; ", replay.UnmetChanges)}");
        }
        catch (ReplayException ex)
        {
            Assert.Fail(ex.Message);
        }
        finally
        {
            if (api is not null)
            {
                await api.DisposeAsync();
            }

            folder.Delete(recursive: true);
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"Replayed {replay.Compared} client frames compared and {replay.Sent} server frames sent in {elapsed.Elapsed.TotalSeconds:0.0} s; " +
            $"skipped (time-driven): {replay.Skipped.Count}; bound: {string.Join(", ", replay.Templates.Bindings.Select(b => $"{b.Key} → {b.Value}"))}\n" +
            string.Join("\n", replay.Timings.Select(t => $"  {t.Took.TotalMilliseconds,6:0} ms  {t.Phase}")));
        Assert.Equal(24, replay.Compared);
    }

    /// <summary>
    /// The anonymous workspace of the recording's calls, with storage that is never contacted: the replayed calls fail
    /// on their arguments before any S3 request (get_file checks the path after finding W's storage, as with on-demand).
    /// </summary>
    private static InMemoryWorkspaceDirectory AnonymousWorkspaceStorage()
    {
        var directory = new InMemoryWorkspaceDirectory();
        var nowhere = new Uri("http://127.0.0.1:9/");
        directory.Put(new WorkspaceStorageHandle(
            WorkspaceId.Parse(AnonymousWorkspace),
            new S3Location(nowhere, nowhere, "us-east-1", "hypha-workspaces"),
            new AwsCredentials("REPLAYNOTAKEY", "replay-not-a-secret"),
            AccessLevel.ReadWrite,
            IsPublic: false,
            NoTemporaryCredentialIssuer.Instance));
        return directory;
    }

    private static string CompanionState(TestApi? api)
    {
        if (api?.App.Services.GetService<HyphaRegistrationService>()?.Client is not { } client)
        {
            return "not running";
        }

        return $"{client.State}, registered {client.IsRegistered}, last error {client.LastError ?? "none"}";
    }
}
