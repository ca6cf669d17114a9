using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Storage.Tests.CephRgw;

/// <summary>Bad input is refused before any call; bad environments fail with the right typed error, in time.</summary>
public sealed class RgwBadInputTests
{
    private static CancellationToken Ct => RgwBackendHarness.Ct;

    [Fact]
    public async Task The_longest_valid_id_fits_RGW_limits_through_shortened_names()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var longest = h.NewWorkspace("long", RgwBackendHarness.RandomPart(), new string('x', WorkspaceId.MaxLength - 17) + "|z");
        Assert.Equal(WorkspaceId.MaxLength, longest.Value.Length);
        var key = await h.IdentityAsync(longest);
        using var s3 = h.Client(key);
        await S3Outcome.Allowed(() => s3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = h.Bucket, Key = longest.Prefix + "f", ContentBody = "f" }, Ct), "put under the longest id");
    }

    [Fact]
    public async Task Bad_lifetimes_and_keys_are_refused_before_any_call()
    {
        await using var h = RgwBackendHarness.WithBackend();
        var w = WorkspaceId.Parse("ws-valid");
        Assert.Equal("lifetime", Assert.Throws<BackendValidationException>(() =>
            h.Backend.IssueTemporaryCredentialsAsync(w, AccessLevel.ReadOnly, TimeSpan.Zero, Ct).GetAwaiter().GetResult()).Field);
        Assert.Equal("accessKeyId", (await Assert.ThrowsAsync<BackendValidationException>(() =>
            h.Backend.EnsureKeyAsync(w, new AwsCredentials("short", new string('s', 40)), Ct))).Field);
        Assert.Equal("accessKeyId", (await Assert.ThrowsAsync<BackendValidationException>(() =>
            h.Backend.EnsureKeyAsync(w, new AwsCredentials("AKIA/../../ADMIN0000", new string('s', 40)), Ct))).Field);
        var secretError = await Assert.ThrowsAsync<BackendValidationException>(() =>
            h.Backend.EnsureKeyAsync(w, new AwsCredentials("AKIAVALIDVALIDVALID0", "has spaces in it, so no"), Ct));
        Assert.Equal("secretAccessKey", secretError.Field);
        Assert.DoesNotContain("has spaces", secretError.Message, StringComparison.Ordinal);
        Assert.Equal("accessKeyId", (await Assert.ThrowsAsync<BackendValidationException>(() => h.Backend.RevokeKeyAsync(w, " ", Ct))).Field);
        Assert.Empty(h.Counter.Calls);
    }

    [Fact]
    public async Task Wrong_admin_credentials_raise_an_authentication_error_and_show_as_unhealthy()
    {
        var server = Testing.S3.RgwTestServer.Require();
        foreach (var wrong in new[]
                 {
                     server.Admin with { SecretAccessKey = "not-the-admin-secret-at-all-0000000000" },
                     new AwsCredentials("NOSUCHACCESSKEY00000", "not-the-admin-secret-at-all-0000000000"),
                 })
        {
            await using var h = RgwBackendHarness.WithBackend(admin: wrong);
            await Assert.ThrowsAsync<BackendAuthenticationException>(() =>
                h.Backend.EnsureIdentityAsync(WorkspaceId.Parse("ws-neverauth"), AccessLevel.ReadWrite, Ct));
            var health = await h.Backend.CheckHealthAsync(Ct);
            Assert.False(health.Healthy);
            Assert.Contains("refused", health.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain(wrong.SecretAccessKey, health.Detail, StringComparison.Ordinal);
            Assert.Equal(0, h.Counter.Writes);
        }
    }

    [Fact]
    public async Task Right_admin_credentials_are_healthy()
    {
        await using var h = RgwBackendHarness.WithBackend();
        var health = await h.Backend.CheckHealthAsync(Ct);
        Assert.True(health.Healthy, health.Detail);
        Assert.DoesNotContain(h.Server.Admin.SecretAccessKey, health.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_closed_port_raises_unavailable_within_the_configured_timeout()
    {
        using var closed = FreeTcpPort.Refusing();
        var port = closed.Port;

        var retry = new RetryOptions { AttemptTimeout = TimeSpan.FromSeconds(1), MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(50) };
        await using var h = RgwBackendHarness.WithBackend(endpoint: new Uri($"http://127.0.0.1:{port}"), retry: retry);
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<BackendUnavailableException>(() => h.Backend.EnsureIdentityAsync(WorkspaceId.Parse("ws-closed"), AccessLevel.ReadWrite, Ct));
        Assert.True(clock.Elapsed < Limit(retry), $"took {clock.Elapsed}");
        Assert.False((await h.Backend.CheckHealthAsync(Ct)).Healthy);
    }

    [Fact]
    public async Task A_listener_that_never_answers_raises_unavailable_within_the_configured_timeout()
    {
        // Accepts TCP connections (the kernel completes the handshake into the backlog) but never reads or answers.
        using var blackhole = new TcpListener(IPAddress.Loopback, 0);
        blackhole.Start(backlog: 16);
        var port = ((IPEndPoint)blackhole.LocalEndpoint).Port;

        var retry = new RetryOptions { AttemptTimeout = TimeSpan.FromSeconds(1), MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(50) };
        await using var h = RgwBackendHarness.WithBackend(endpoint: new Uri($"http://127.0.0.1:{port}"), retry: retry);
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<BackendUnavailableException>(() => h.Backend.EnsureIdentityAsync(WorkspaceId.Parse("ws-blackhole"), AccessLevel.ReadWrite, Ct));
        var elapsed = clock.Elapsed;
        Assert.True(elapsed < Limit(retry), $"took {elapsed}");
        Assert.True(elapsed >= retry.AttemptTimeout, $"gave up after {elapsed}, before one attempt's timeout");
        Assert.Contains("no answer", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, h.Counter.Calls.Count(c => c.Error == "Timeout"));
    }

    /// <summary>Every attempt's timeout, the backoff between them (BaseDelay at most, for two attempts), and a margin for a loaded machine.</summary>
    private static TimeSpan Limit(RetryOptions retry) =>
        retry.AttemptTimeout * retry.MaxAttempts + retry.BaseDelay + TimeSpan.FromSeconds(2);
}
