using WorkspaceStorage.Core.Credentials;
using System.Globalization;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Iam;

/// <summary>
/// STS (service "sts", version 2011-06-15) on RGW's endpoint (needs <c>rgw sts key</c> and <c>rgw s3 auth use sts = true</c>)
/// or AWS's. AssumeRole's session rights are the role's policy intersected with <c>Policy</c>, so a session policy can
/// only narrow.
/// </summary>
public sealed class StsClient(QueryApiConnection connection)
{
    public const string Version = "2011-06-15";

    /// <summary>RGW and AWS refuse sessions shorter than 15 minutes.</summary>
    public static readonly TimeSpan MinimumDuration = TemporaryCredentialLimits.Minimum;

    /// <param name="sessionName">2–64 characters of <c>[A-Za-z0-9+=,.@_-]</c>.</param>
    /// <param name="sessionPolicy">Compact JSON (RGW rejects multi-line session policies), or null for the role's full rights.</param>
    public async Task<TemporaryCredentials> AssumeRoleAsync(string roleArn, string sessionName, TimeSpan duration, string? sessionPolicy,
        CancellationToken cancellationToken)
    {
        var parameters = new List<KeyValuePair<string, string>>
        {
            new("RoleArn", roleArn),
            new("RoleSessionName", sessionName),
            new("DurationSeconds", ((long)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture)),
        };
        if (sessionPolicy is not null)
        {
            parameters.Add(new("Policy", sessionPolicy));
        }

        var response = await connection.PostFormAsync("sts", "AssumeRole", Version, isWrite: false, parameters, cancellationToken);
        if (!response.IsSuccess)
        {
            throw connection.Failure("AssumeRole", response);
        }

        var document = IamClient.Parse(response.Body, connection.BackendType);
        var accessKey = IamClient.Element(document, "AccessKeyId");
        var secret = IamClient.Element(document, "SecretAccessKey");
        var token = IamClient.Element(document, "SessionToken");
        var expiration = IamClient.Element(document, "Expiration");
        if (string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secret) || string.IsNullOrEmpty(token) || expiration is null)
        {
            throw new BackendRequestRejectedException($"{connection.BackendType} AssumeRole: the answer lacks credentials");
        }

        return new TemporaryCredentials(new AwsCredentials(accessKey, secret, token), ParseExpiration(expiration, connection.BackendType));
    }

    /// <summary>
    /// Who the connection's credentials are (GetCallerIdentity needs no permission). The raw answer is returned so the
    /// caller decides what a refusal means: for a key IAM made a moment ago, 403 InvalidClientTokenId means "not yet".
    /// </summary>
    public async Task<CallerIdentity?> GetCallerIdentityAsync(CancellationToken cancellationToken)
    {
        var response = await connection.PostFormAsync("sts", "GetCallerIdentity", Version, isWrite: false, [], cancellationToken);
        if (!response.IsSuccess)
        {
            throw connection.Failure("GetCallerIdentity", response);
        }

        var document = IamClient.Parse(response.Body, connection.BackendType);
        var arn = IamClient.Element(document, "Arn");
        var account = IamClient.Element(document, "Account");
        return arn is null || account is null ? null : new CallerIdentity(arn, account);
    }

    /// <summary>RGW writes nanoseconds ("2026-11-23T23:29:27.788981995Z"); .NET parses at most 7 fraction digits.</summary>
    internal static DateTimeOffset ParseExpiration(string value, string backendType = "sts")
    {
        var text = value.Trim();
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            var fraction = text[(dot + 1)..end];
            text = string.Concat(text.AsSpan(0, dot + 1), fraction.Length > 7 ? fraction[..7] : fraction, text.AsSpan(end));
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
            ? parsed
            : throw new BackendRequestRejectedException($"{backendType} AssumeRole: unreadable expiration");
    }
}

/// <summary>The principal behind a set of credentials, as STS GetCallerIdentity reports it.</summary>
public sealed record CallerIdentity(string Arn, string Account);
