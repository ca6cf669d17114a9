namespace WorkspaceStorage.Core.Signing;

/// <summary>What SigV4 signs: method, the raw (already escaped) path, query parameters (unescaped), and headers.</summary>
/// <param name="CanonicalPath">The path exactly as sent on the wire, already URI-escaped (S3 style: no normalisation).</param>
public sealed record SigV4Request(
    string Method,
    string Host,
    string CanonicalPath,
    IReadOnlyList<KeyValuePair<string, string>> Query,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    string PayloadHash);

/// <summary>The region and service a signature is scoped to.</summary>
public sealed record SigV4Scope(string Region, string Service);
