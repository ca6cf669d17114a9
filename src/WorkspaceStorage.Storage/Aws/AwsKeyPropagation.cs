using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Resilience;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Iam;

namespace WorkspaceStorage.Storage.Aws;

/// <summary>
/// IAM is eventually consistent: for seconds after CreateAccessKey returns, STS and S3 may refuse the new key as unknown
/// (InvalidClientTokenId from STS, InvalidAccessKeyId from S3). Before a new key goes into a Secret, ask STS who it is
/// until it answers, retrying on that refusal only (any other error is real and surfaces), within a bound.
/// </summary>
public static class AwsKeyPropagation
{
    /// <summary>The codes that mean "this key is not known (yet)", not "these credentials are wrong".</summary>
    public static readonly IReadOnlySet<string> NotYetCodes = new HashSet<string>(StringComparer.Ordinal) { "InvalidClientTokenId", "InvalidAccessKeyId" };

    /// <summary>True once the key is accepted; false when <paramref name="bound"/> passed first (the key is handed out anyway, logged).</summary>
    /// <param name="asNewKey">STS signing as the new key.</param>
    public static async Task<bool> WaitUntilAcceptedAsync(StsClient asNewKey, ExponentialBackoff backoff, TimeSpan bound, TimeProvider clock,
        ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(asNewKey);
        ArgumentNullException.ThrowIfNull(backoff);
        var started = clock.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await asNewKey.GetCallerIdentityAsync(cancellationToken);
                if (attempt > 1)
                {
                    logger.LogInformation("New IAM key accepted after {Attempts} checks", attempt);
                }

                return true;
            }
            catch (BackendAuthenticationException ex) when (ex.ErrorCode is { } code && NotYetCodes.Contains(code))
            {
                var delay = backoff.Delay(attempt);
                if (clock.GetElapsedTime(started) + delay > bound)
                {
                    logger.LogWarning("New IAM key still refused ({Code}) after {Seconds:0} s; handing it out, it starts working once IAM has propagated it",
                        code, clock.GetElapsedTime(started).TotalSeconds);
                    return false;
                }

                await Task.Delay(delay, clock, cancellationToken);
            }
        }
    }
}
