using System.Globalization;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.CephRgw;

/// <summary>
/// STS AssumeRole on the RGW endpoint (service "sts"), called with the admin's key. Needs <c>rgw sts key</c> and
/// <c>rgw s3 auth use sts = true</c> in RGW's configuration. The session's rights are the role's policy
/// intersected with <c>Policy</c>, so a session policy can only narrow.
/// </summary>
public sealed class RgwStsClient(RgwConnection connection)
{
    public const string Version = "2011-06-15";

    /// <summary>RGW (like AWS) refuses sessions shorter than 15 minutes.</summary>
    public static readonly TimeSpan MinimumDuration = TimeSpan.FromSeconds(900);

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
            throw RgwConnection.Failure("AssumeRole", response);
        }

        var document = RgwIamClient.Parse(response.Body);
        var accessKey = RgwIamClient.Element(document, "AccessKeyId");
        var secret = RgwIamClient.Element(document, "SecretAccessKey");
        var token = RgwIamClient.Element(document, "SessionToken");
        var expiration = RgwIamClient.Element(document, "Expiration");
        if (string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secret) || string.IsNullOrEmpty(token) || expiration is null)
        {
            throw new BackendRequestRejectedException($"{RgwConnection.BackendType} AssumeRole: the answer lacks credentials");
        }

        return new TemporaryCredentials(new AwsCredentials(accessKey, secret, token), ParseExpiration(expiration));
    }

    /// <summary>RGW writes nanoseconds ("2026-11-23T23:29:27.788981995Z"); .NET parses at most 7 fraction digits.</summary>
    internal static DateTimeOffset ParseExpiration(string value)
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
            : throw new BackendRequestRejectedException($"{RgwConnection.BackendType} AssumeRole: unreadable expiration");
    }
}
