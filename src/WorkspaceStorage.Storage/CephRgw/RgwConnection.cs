using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Iam;

namespace WorkspaceStorage.Storage.CephRgw;

/// <summary>
/// The admin's connection to one RGW endpoint: where it is, who signs, and the sender that retries.
/// Admin Ops calls go through <see cref="SendAsync"/>; the IAM and STS clients, shared with the AWS backend, through <see cref="Query"/>.
/// </summary>
public sealed class RgwConnection
{
    public const string BackendType = "ceph-rgw";

    private const string RefusedHint = "check the admin user's caps";

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
        Query = new QueryApiConnection(BackendType, endpoint, region, admin, sender, RefusedHint);
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

    /// <summary>The IAM and STS query API on the same endpoint, signed by the same admin.</summary>
    public QueryApiConnection Query { get; }

    /// <summary>
    /// Turns an unexpected answer into the right exception. AccessDenied on an admin call means the admin
    /// lacks a capability (users, roles, user-policy …): an authentication problem, not a bad request.
    /// </summary>
    public static StorageBackendException Failure(string operation, SignedResponse response) =>
        QueryApiConnection.Failure(BackendType, operation, response, RefusedHint);
}
