using System.Globalization;
using System.Text;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.CephRgw;

/// <summary>
/// The admin's connection to one RGW endpoint: where it is, who signs, and the sender that retries.
/// Shared by the Admin Ops, IAM and STS clients, which differ only in the SigV4 service name and body format.
/// </summary>
public sealed class RgwConnection
{
    public const string BackendType = "ceph-rgw";

    public RgwConnection(Uri endpoint, string region, AwsCredentials admin, SignedHttpSender sender)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentException.ThrowIfNullOrWhiteSpace(region);
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(sender);
        if (!endpoint.IsAbsoluteUri || endpoint.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException("the RGW endpoint must be an absolute http(s) URL", nameof(endpoint));
        }

        BaseUrl = endpoint.GetLeftPart(UriPartial.Authority);
        Region = region;
        Admin = admin;
        Sender = sender;
    }

    /// <summary>scheme://host[:port], no trailing slash.</summary>
    public string BaseUrl { get; }

    public string Region { get; }

    public AwsCredentials Admin { get; }

    public SignedHttpSender Sender { get; }

    /// <summary>Sends a request whose query string is already escaped, signed by the admin for <paramref name="service"/>.</summary>
    public Task<SignedResponse> SendAsync(HttpMethod method, string pathAndQuery, string service, string operation, bool isWrite,
        CancellationToken cancellationToken, byte[]? body = null, string? contentType = null) =>
        Sender.SendAsync(
            new SignedRequest(method, BaseUrl + pathAndQuery, Admin, new SigV4Scope(Region, service), operation, isWrite, body, contentType),
            cancellationToken);

    /// <summary>Posts an AWS query-protocol form (IAM, STS) to the endpoint root.</summary>
    public Task<SignedResponse> PostFormAsync(string service, string action, string version, bool isWrite,
        IEnumerable<KeyValuePair<string, string>> parameters, CancellationToken cancellationToken)
    {
        var form = new StringBuilder("Action=").Append(action).Append("&Version=").Append(version);
        foreach (var (name, value) in parameters)
        {
            form.Append('&').Append(AwsUriEncoding.Escape(name)).Append('=').Append(AwsUriEncoding.Escape(value));
        }

        return SendAsync(HttpMethod.Post, "/", service, action, isWrite, cancellationToken,
            Encoding.UTF8.GetBytes(form.ToString()), "application/x-www-form-urlencoded; charset=utf-8");
    }

    /// <summary>
    /// Turns an unexpected answer into the right exception. AccessDenied on an admin call means the admin
    /// lacks a capability (users, roles, user-policy …): an authentication problem, not a bad request.
    /// </summary>
    public static StorageBackendException Failure(string operation, SignedResponse response)
    {
        var code = BackendErrorCode.TryRead(response.Body);
        var status = response.StatusCode.ToString(CultureInfo.InvariantCulture);
        if (response.StatusCode is 401 or 403)
        {
            return new BackendAuthenticationException(
                $"{BackendType} {operation}: the admin credentials were refused (HTTP {status} {code}); check the admin user's caps")
            {
                StatusCode = response.StatusCode,
                ErrorCode = code,
            };
        }

        return new BackendRequestRejectedException($"{BackendType} {operation}: HTTP {status} {code}")
        {
            StatusCode = response.StatusCode,
            ErrorCode = code,
        };
    }
}
