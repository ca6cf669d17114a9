using System.Globalization;
using System.Text;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.Iam;

/// <summary>
/// The admin's connection to an AWS query-protocol API (IAM, STS: form-encoded POSTs to the endpoint root, signed with
/// SigV4), as Ceph RGW serves it on its S3 endpoint and AWS on its own IAM and STS endpoints. The project signs these
/// calls itself: NuGet here does not serve AWSSDK.IdentityManagement, and the query API is a dozen form fields.
/// </summary>
public sealed class QueryApiConnection
{
    private readonly string baseUrl;
    private readonly string refusedHint;

    /// <param name="backendType">Names the backend in errors and metrics ("ceph-rgw", "aws").</param>
    /// <param name="region">The SigV4 signing region (AWS's IAM signs in us-east-1 whatever the bucket's region).</param>
    /// <param name="refusedHint">What to check when the admin is refused, for the error message.</param>
    public QueryApiConnection(string backendType, Uri endpoint, string region, AwsCredentials admin, SignedHttpSender sender, string refusedHint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(backendType);
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentException.ThrowIfNullOrWhiteSpace(region);
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(sender);
        if (!endpoint.IsAbsoluteUri || endpoint.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"the {backendType} endpoint must be an absolute http(s) URL", nameof(endpoint));
        }

        BackendType = backendType;
        baseUrl = endpoint.GetLeftPart(UriPartial.Authority);
        Region = region;
        Admin = admin;
        Sender = sender;
        this.refusedHint = refusedHint;
    }

    public string BackendType { get; }

    public string Region { get; }

    public AwsCredentials Admin { get; }

    public SignedHttpSender Sender { get; }

    /// <summary>The same endpoint and sender, signing as <paramref name="credentials"/> (a workspace key checking itself).</summary>
    public QueryApiConnection As(AwsCredentials credentials) => new(BackendType, new Uri(baseUrl), Region, credentials, Sender, refusedHint);

    /// <summary>Posts an AWS query-protocol form to the endpoint root, signed for <paramref name="service"/>.</summary>
    public Task<SignedResponse> PostFormAsync(string service, string action, string version, bool isWrite,
        IEnumerable<KeyValuePair<string, string>> parameters, CancellationToken cancellationToken)
    {
        var form = new StringBuilder("Action=").Append(action).Append("&Version=").Append(version);
        foreach (var (name, value) in parameters)
        {
            form.Append('&').Append(AwsUriEncoding.Escape(name)).Append('=').Append(AwsUriEncoding.Escape(value));
        }

        return Sender.SendAsync(
            new SignedRequest(HttpMethod.Post, baseUrl + "/", Admin, new SigV4Scope(Region, service), action, isWrite,
                Encoding.UTF8.GetBytes(form.ToString()), "application/x-www-form-urlencoded; charset=utf-8"),
            cancellationToken);
    }

    /// <summary>Turns an unexpected answer of this API into the right exception.</summary>
    public StorageBackendException Failure(string operation, SignedResponse response) => Failure(BackendType, operation, response, refusedHint);

    /// <summary>
    /// Turns an unexpected answer into the right exception. AccessDenied on an admin call means the admin lacks a
    /// permission (an RGW cap, an IAM action): an authentication problem, not a bad request.
    /// </summary>
    public static StorageBackendException Failure(string backendType, string operation, SignedResponse response, string refusedHint)
    {
        ArgumentNullException.ThrowIfNull(response);
        var code = BackendErrorCode.TryRead(response.Body);
        var status = response.StatusCode.ToString(CultureInfo.InvariantCulture);
        if (response.StatusCode is 401 or 403)
        {
            return new BackendAuthenticationException(
                $"{backendType} {operation}: the admin credentials were refused (HTTP {status} {code}); {refusedHint}")
            {
                StatusCode = response.StatusCode,
                ErrorCode = code,
            };
        }

        return new BackendRequestRejectedException($"{backendType} {operation}: HTTP {status} {code}")
        {
            StatusCode = response.StatusCode,
            ErrorCode = code,
        };
    }
}
