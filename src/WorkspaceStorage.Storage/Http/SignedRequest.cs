using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Storage.Http;

/// <summary>
/// A small admin or S3 control request, built again for each attempt (a sent HttpRequestMessage cannot be reused
/// and its signature carries the time).
/// </summary>
/// <param name="Url">Absolute URL with an already escaped path and query.</param>
/// <param name="Operation">Stable name for metrics and error messages.</param>
/// <param name="IsWrite">Whether the call changes state on the server (counted for "no drift, no write").</param>
public sealed record SignedRequest(
    HttpMethod Method,
    string Url,
    AwsCredentials Credentials,
    SigV4Scope Scope,
    string Operation,
    bool IsWrite,
    byte[]? Body = null,
    string? ContentType = null,
    IReadOnlyList<KeyValuePair<string, string>>? Headers = null)
{
    // The URL can carry a secret (RGW Admin Ops takes secret-key in the query) and the body a key or policy:
    // printing a request shows neither.
    public override string ToString() =>
        $"SignedRequest {{ {Method} {Operation}, Path = {new Uri(Url).AbsolutePath}, IsWrite = {IsWrite}, Body = {Body?.Length ?? 0} bytes }}";
}

/// <summary>A buffered response: admin and control responses are small.</summary>
public sealed record SignedResponse(int StatusCode, byte[] Body, string? ContentType)
{
    public bool IsSuccess => StatusCode is >= 200 and < 300;
}
