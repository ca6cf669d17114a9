using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Credentials;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Audit;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Multipart;
using WorkspaceStorage.Api.Paths;
using WorkspaceStorage.Api.Presigning;
using WorkspaceStorage.Api.Quotas;
using WorkspaceStorage.Api.Ttl;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.S3Storage;

/// <summary>
/// Hypha's <c>public/s3-storage</c> functions — the same names, arguments, defaults and result shapes — with this
/// project's fixes: temporary credentials scoped to the caller's permission, presigning limited to get_object (r) and
/// put_object (rw) and signed with W's own key, multipart completion bound to the workspace that started it, and TTLs
/// counted from upload completion. The table below is the one place a function is described; the HTTP routes and the
/// Hypha RPC registration both read it.
/// </summary>
public sealed class S3StorageService
{
    /// <summary>S3's (and Hypha's) longest presigned URL lifetime: 7 days.</summary>
    public static readonly int MaxExpirySeconds = (int)SigV4Signer.MaxPresignExpiry.TotalSeconds;

    public const int DefaultExpirySeconds = 3600;

    /// <summary>Longest TTL accepted (10 years).</summary>
    public const int MaxTtlSeconds = 315_360_000;

    /// <summary>Hypha's bound on <c>list_files</c>' max_length.</summary>
    public const int MaxListLength = 10_000;

    private const string PathRule = "Relative to the workspace root; Hypha's admin-only absolute paths (starting with '/') are refused.";

    private readonly StorageOptions options;
    private readonly IPresignedUrlRewriter rewriter;
    private readonly MultipartUploads multipart;
    private readonly TtlMarkerStore ttl;
    private readonly Dictionary<string, S3StorageFunction> byName;
    private readonly CompanionAuditTrail audit;

    public S3StorageService(IOptions<StorageOptions> options, IPresignedUrlRewriter rewriter, MultipartUploads multipart, TtlMarkerStore ttl,
        CompanionAuditTrail audit)
    {
        this.audit = audit;
        this.options = options.Value;
        this.rewriter = rewriter;
        this.multipart = multipart;
        this.ttl = ttl;
        var expiresIn = ServiceParameter.Integer("expires_in", "Seconds until the URL(s) expire.", DefaultExpirySeconds, 1, MaxExpirySeconds);
        var useProxy = ServiceParameter.Boolean("use_proxy", "true: URLs through this server's /s3 proxy; false: straight to S3; default: the server's setting.");
        var useLocalUrl = ServiceParameter.Boolean("use_local_url", "Accepted for compatibility; only false (public URLs) is served.");
        Functions =
        [
            new("list_files", "List the files and directories under a path of the workspace (needs r).",
                [
                    ServiceParameter.String("path", "Directory to list; '' is the workspace root. " + PathRule, ""),
                    ServiceParameter.Integer("max_length", "Most entries returned.", 1000, 1, MaxListLength),
                    ServiceParameter.Integer("offset", "Entries to skip first (pagination).", 0, 0, int.MaxValue),
                ],
                _ => Permission.Read, ListFilesAsync),
            new("delete_directory", "Deprecated: remove_file with a path ending in '/'. Removes a directory and everything in it (needs rw).",
                [ServiceParameter.String("path", "Directory to delete; must end with '/'. " + PathRule, required: true)],
                _ => Permission.ReadWrite, call => RemoveAsync(call, mustBeDirectory: true)),
            new("delete_file", "Deprecated: remove_file. Removes one file (needs rw).",
                [ServiceParameter.String("path", "File to delete; must not end with '/'. " + PathRule, required: true)],
                _ => Permission.ReadWrite, call => RemoveAsync(call, mustBeDirectory: false)),
            new("generate_presigned_url", "Presign get_object (needs r) or put_object (needs rw) for one file, signed with the workspace's own key.",
                [
                    ServiceParameter.String("path", "The file. " + PathRule, required: true),
                    ServiceParameter.String("client_method", "get_object or put_object.", "get_object"),
                    ServiceParameter.Integer("expiration", "Seconds until the URL expires.", DefaultExpirySeconds, 1, MaxExpirySeconds),
                ],
                PresignPermission, GeneratePresignedUrlAsync),
            new("put_file", "Presigned upload URL for one path, or a {path: url} map for a list; optional ttl deletes the file that long after its upload (needs rw).",
                [
                    ServiceParameter.StringOrList("file_path", "Path, or list of paths. " + PathRule),
                    useProxy, useLocalUrl, expiresIn,
                    ServiceParameter.IntegerOrList("ttl", "Seconds the file lives after its upload completes; one value or one per path.", 1, MaxTtlSeconds),
                ],
                _ => Permission.ReadWrite, PutFileAsync),
            new("get_file", "Presigned download URL for one path, or a {path: url} map for a list (needs r).",
                [ServiceParameter.StringOrList("file_path", "Path, or list of paths. " + PathRule), useProxy, useLocalUrl, expiresIn],
                _ => Permission.Read, GetFileAsync),
            new("put_file_start_multipart", "Start a multipart upload and presign each part's upload URL (needs rw).",
                [
                    ServiceParameter.String("file_path", "The file. " + PathRule, required: true),
                    ServiceParameter.Integer("part_count", "Number of parts.", null, 1, MultipartUploads.MaxParts, required: true),
                    expiresIn,
                    ServiceParameter.Integer("ttl", "Seconds the file lives after the upload completes.", null, 1, MaxTtlSeconds),
                ],
                _ => Permission.ReadWrite, StartMultipartAsync),
            new("put_file_complete_multipart", "Complete a multipart upload started in this workspace (needs rw).",
                [
                    ServiceParameter.String("upload_id", "The upload_id put_file_start_multipart returned.", required: true),
                    ServiceParameter.ObjectList("parts", "Each uploaded part's number and the ETag its upload returned.", "part_number", "etag"),
                ],
                _ => Permission.ReadWrite, CompleteMultipartAsync),
            new("remove_file", "Remove a file, or a directory and everything in it when the path ends in '/' (needs rw).",
                [ServiceParameter.String("path", "File, or directory ending in '/'. " + PathRule, required: true)],
                _ => Permission.ReadWrite, call => RemoveAsync(call, mustBeDirectory: null)),
            new("generate_credential", "Temporary S3 credentials confined to the workspace prefix, read-write for rw callers and read-only for r callers, with an expiration.",
                [ServiceParameter.Integer("expires_in", "Lifetime in seconds (the backend may round it up to 15 minutes).", null, TemporaryCredentialLimits.MinimumSeconds, int.MaxValue)],
                _ => Permission.Read, GenerateCredentialAsync),
        ];
        byName = Functions.ToDictionary(f => f.Name, StringComparer.Ordinal);
    }

    /// <summary>Every function, in Hypha's order.</summary>
    public IReadOnlyList<S3StorageFunction> Functions { get; }

    public S3StorageFunction? Find(string name) => byName.GetValueOrDefault(name);

    private static Permission PresignPermission(ServiceArguments arguments) =>
        (arguments.OptionalString("client_method") ?? "get_object") == "put_object" ? Permission.ReadWrite : Permission.Read;

    private async Task<object?> GenerateCredentialAsync(S3StorageCall call)
    {
        // Anonymous callers get credentials only where they may write (Hypha: a read-only workspace refuses them).
        if (call.Access.Principal.IsAnonymous && !call.Access.Granted.Satisfies(Permission.ReadWrite))
        {
            throw new ApiException(StatusCodes.Status403Forbidden, "permission denied: anonymous callers cannot get credentials; sign in");
        }

        var maxSeconds = (int)options.CredentialLifetime.TotalSeconds;
        var lifetime = TimeSpan.FromSeconds(call.Arguments.Int("expires_in", maxSeconds, TemporaryCredentialLimits.MinimumSeconds, Math.Max(TemporaryCredentialLimits.MinimumSeconds, maxSeconds)));
        var handle = call.Storage.Handle;
        var access = call.Access.Granted.Satisfies(Permission.ReadWrite) && handle.Access == AccessLevel.ReadWrite
            ? AccessLevel.ReadWrite
            : AccessLevel.ReadOnly;
        var issued = await handle.CredentialIssuer.IssueAsync(handle.Workspace, access, lifetime, call.CancellationToken);
        audit.RecordCredential(handle, call.Access.Principal, access, issued.Credentials.AccessKeyId, issued.Expiration);
        var result = new Dictionary<string, object?>
        {
            ["endpoint_url"] = handle.Location.PublicEndpoint.ToString().TrimEnd('/'),
            ["access_key_id"] = issued.Credentials.AccessKeyId,
            ["secret_access_key"] = issued.Credentials.SecretAccessKey,
            ["region_name"] = handle.Location.Region,
            ["bucket"] = handle.Location.Bucket,
            ["prefix"] = handle.Prefix,
            ["expiration"] = issued.Expiration.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            ["access"] = access == AccessLevel.ReadWrite ? "rw" : "r",
        };
        if (issued.Credentials.SessionToken is { } token)
        {
            result["session_token"] = token;
        }

        return result;
    }

    private Task<object?> GeneratePresignedUrlAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var method = (args.OptionalString("client_method") ?? "get_object") switch
        {
            "get_object" => HttpMethod.Get,
            "put_object" => HttpMethod.Put,
            _ => throw new ApiArgumentException("client_method", "must be get_object or put_object"),
        };
        var path = FilePath(call, "path", args.RequiredString("path"));
        var expiry = args.Int("expiration", DefaultExpirySeconds, 1, MaxExpirySeconds);
        return Task.FromResult<object?>(Presign(call, method, path.Key, expiry, useProxy: null));
    }

    private static async Task<object?> ListFilesAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var path = WorkspacePath(call, "path", args.OptionalString("path"));
        var maxLength = args.Int("max_length", 1000, 1, MaxListLength);
        var offset = args.Int("offset", 0, 0, int.MaxValue);
        var directory = path.IsDirectory ? path.Key : path.Key + "/";
        return await WorkspaceListing.ListAsync(call.Storage.Client, directory, offset, maxLength, call.CancellationToken);
    }

    private Task<object?> GetFileAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var paths = args.StringOrList("file_path", out var isList);
        var expiry = args.Int("expires_in", DefaultExpirySeconds, 1, MaxExpirySeconds);
        var useProxy = UrlChoice(args);
        var keys = paths.Select(p => FilePath(call, "file_path", p).Key).ToList();
        return Task.FromResult<object?>(UrlsResult(paths, isList, keys.Select(k => Presign(call, HttpMethod.Get, k, expiry, useProxy))));
    }

    private async Task<object?> PutFileAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var paths = args.StringOrList("file_path", out var isList);
        var expiry = args.Int("expires_in", DefaultExpirySeconds, 1, MaxExpirySeconds);
        var useProxy = UrlChoice(args);
        var ttls = args.IntOrList("ttl", paths.Count, 1, MaxTtlSeconds);
        var keys = paths.Select(p => FilePath(call, "file_path", p).Key).ToList();
        if (ttls.Any(t => t is not null))
        {
            TtlMarkerStore.EnsureSupported(call.Storage.Handle);
        }

        // Markers first: a URL is only handed out once its deadline is durable.
        for (var i = 0; i < keys.Count; i++)
        {
            if (ttls[i] is { } seconds)
            {
                await ttl.RecordAsync(call.Storage.Handle, keys[i], seconds, TimeSpan.FromSeconds(expiry), call.CancellationToken);
            }
        }

        return UrlsResult(paths, isList, keys.Select(k => Presign(call, HttpMethod.Put, k, expiry, useProxy)));
    }

    private async Task<object?> StartMultipartAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var path = FilePath(call, "file_path", args.RequiredString("file_path"));
        var partCount = args.RequiredInt("part_count", 1, MultipartUploads.MaxParts);
        var expiry = args.Int("expires_in", DefaultExpirySeconds, 1, MaxExpirySeconds);
        var ttlSeconds = args.OptionalInt("ttl", 1, MaxTtlSeconds);
        var started = await multipart.StartAsync(call.Storage, path, partCount, expiry, ttlSeconds, call.CancellationToken);
        audit.RecordPresigned(call.Storage.Handle, call.Access.Principal, HttpMethod.Put, path.Key, TimeSpan.FromSeconds(expiry),
            $"multipart upload, {partCount} part URLs");
        return started;
    }

    private async Task<object?> CompleteMultipartAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var uploadId = args.RequiredString("upload_id");
        var parts = MultipartUploads.ReadParts(args.Raw("parts"));
        return await multipart.CompleteAsync(call.Storage, uploadId, parts, call.CancellationToken);
    }

    /// <summary>remove_file (<paramref name="mustBeDirectory"/> null: the trailing '/' decides), delete_directory (true), delete_file (false).</summary>
    private static async Task<object?> RemoveAsync(S3StorageCall call, bool? mustBeDirectory)
    {
        var raw = call.Arguments.RequiredString("path");
        var path = WorkspacePath(call, "path", raw);
        if (mustBeDirectory is { } directory && path.IsDirectory != directory)
        {
            throw new ApiArgumentException("path", directory ? "must end with '/' (a directory); use delete_file for a file" : "must not end with '/'; use delete_directory for a directory");
        }

        if (!await WorkspaceFiles.RemoveAsync(call.Storage.Client, path, call.CancellationToken))
        {
            var message = $"Path does not exist: {raw}";
            return new Dictionary<string, object> { ["success"] = false, ["message"] = message, ["detail"] = message };
        }

        return new Dictionary<string, object>
        {
            ["success"] = true,
            ["message"] = path.IsDirectory ? $"Directory removed: {raw}" : $"File removed: {raw}",
        };
    }

    /// <summary>A path inside W. Hypha reads a leading '/' as a bucket-wide path for admins; this service serves none.</summary>
    private static WorkspacePath WorkspacePath(S3StorageCall call, string argument, string? raw)
    {
        if (raw is { Length: > 0 } && raw[0] == '/')
        {
            throw new ApiArgumentException(argument,
                "must be relative to the workspace: absolute paths (starting with '/') are Hypha's admin-only bucket-wide paths, which this service does not serve");
        }

        return Paths.WorkspacePath.Parse(call.Workspace, raw, argument);
    }

    /// <summary>A path that must name a file (not the root or a directory).</summary>
    private static WorkspacePath FilePath(S3StorageCall call, string argument, string raw)
    {
        var path = WorkspacePath(call, argument, raw);
        return path.IsDirectory
            ? throw new ApiArgumentException(argument, "must name a file, not a directory (it is empty or ends in '/')")
            : path;
    }

    /// <summary><c>use_proxy</c> (null: the server's setting) after refusing <c>use_local_url=true</c>, which has no meaning here.</summary>
    private static bool? UrlChoice(ServiceArguments args)
    {
        if (args.OptionalBool("use_local_url") == true)
        {
            throw new ApiArgumentException("use_local_url", "must be false: this service hands out public URLs only");
        }

        return args.OptionalBool("use_proxy");
    }

    private string Presign(S3StorageCall call, HttpMethod method, string key, int expirySeconds, bool? useProxy)
    {
        if (method == HttpMethod.Put)
        {
            UploadQuota.Check(call.Storage.Handle, declaredLength: 0); // the length is not known yet: refused only at the quota
        }

        var url = call.Storage.Client.Presign(method, key, TimeSpan.FromSeconds(expirySeconds));
        audit.RecordPresigned(call.Storage.Handle, call.Access.Principal, method, key, TimeSpan.FromSeconds(expirySeconds));
        return useProxy == false ? url : rewriter.Rewrite(call.Workspace, url);
    }

    private static object UrlsResult(IReadOnlyList<string> paths, bool isList, IEnumerable<string> urls)
    {
        var list = urls.ToList();
        if (!isList)
        {
            return list[0];
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < paths.Count; i++)
        {
            result[paths[i]] = list[i];
        }

        return result;
    }
}
