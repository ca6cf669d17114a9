using System.Text.Json;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Multipart;
using WorkspaceStorage.Api.Paths;
using WorkspaceStorage.Api.Presigning;
using WorkspaceStorage.Api.Storage;
using WorkspaceStorage.Api.Ttl;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Services;

/// <summary>One service method: the permission it needs (given its arguments), the arguments it takes, and the call.</summary>
internal sealed record S3StorageMethod(
    string Name,
    string[] Arguments,
    Func<ServiceArguments, Permission> RequiredPermission,
    Func<S3StorageCall, Task<IResult>> Invoke);

/// <summary>Everything one call has: the caller's access, W's storage, and the arguments.</summary>
internal sealed record S3StorageCall(WorkspaceAccess Access, ResolvedWorkspace Storage, ServiceArguments Arguments, CancellationToken CancellationToken)
{
    public WorkspaceId Workspace => Storage.Workspace;
}

/// <summary>
/// Hypha's <c>public/s3-storage</c> methods, with this project's fixes: temporary credentials scoped to the caller's
/// permission, presigning limited to get_object (r) and put_object (rw) and signed with W's own key, multipart
/// completion bound to the workspace that started it, and TTLs counted from upload completion.
/// </summary>
public sealed class S3StorageService
{
    /// <summary>S3's (and Hypha's) longest presigned URL lifetime: 7 days.</summary>
    public const int MaxExpirySeconds = 604800;

    public const int DefaultExpirySeconds = 3600;

    /// <summary>Longest TTL accepted (10 years).</summary>
    public const int MaxTtlSeconds = 315_360_000;

    private readonly StorageOptions options;
    private readonly IPresignedUrlRewriter rewriter;
    private readonly MultipartUploads multipart;
    private readonly TtlMarkerStore ttl;
    private readonly Dictionary<string, S3StorageMethod> methods;

    public S3StorageService(IOptions<StorageOptions> options, IPresignedUrlRewriter rewriter, MultipartUploads multipart, TtlMarkerStore ttl)
    {
        this.options = options.Value;
        this.rewriter = rewriter;
        this.multipart = multipart;
        this.ttl = ttl;
        S3StorageMethod[] all =
        [
            new("generate_credential", ["expires_in"], _ => Permission.Read, GenerateCredentialAsync),
            new("generate_presigned_url", ["path", "client_method", "expiration"], PresignPermission, GeneratePresignedUrlAsync),
            new("list_files", ["path", "max_length", "offset"], _ => Permission.Read, ListFilesAsync),
            new("get_file", ["file_path", "expires_in"], _ => Permission.Read, GetFileAsync),
            new("put_file", ["file_path", "expires_in", "ttl"], _ => Permission.ReadWrite, PutFileAsync),
            new("put_file_start_multipart", ["file_path", "part_count", "expires_in", "ttl"], _ => Permission.ReadWrite, StartMultipartAsync),
            new("put_file_complete_multipart", ["upload_id", "parts"], _ => Permission.ReadWrite, CompleteMultipartAsync),
            new("remove_file", ["path"], _ => Permission.ReadWrite, RemoveFileAsync),
        ];
        methods = all.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    internal S3StorageMethod? Find(string method) => methods.GetValueOrDefault(method);

    private static Permission PresignPermission(ServiceArguments arguments) =>
        (arguments.OptionalString("client_method") ?? "get_object") == "put_object" ? Permission.ReadWrite : Permission.Read;

    private async Task<IResult> GenerateCredentialAsync(S3StorageCall call)
    {
        // Anonymous callers never get credentials, even for a public workspace (Hypha refuses them as read-only).
        if (call.Access.Principal.IsAnonymous)
        {
            return ApiErrors.Forbidden("permission denied: anonymous callers cannot get credentials; sign in");
        }

        var maxSeconds = (int)options.CredentialLifetime.TotalSeconds;
        var lifetime = TimeSpan.FromSeconds(call.Arguments.Int("expires_in", maxSeconds, 900, Math.Max(900, maxSeconds)));
        var handle = call.Storage.Handle;
        var access = call.Access.Granted.Satisfies(Permission.ReadWrite) && handle.Access == AccessLevel.ReadWrite
            ? AccessLevel.ReadWrite
            : AccessLevel.ReadOnly;
        var issued = await handle.CredentialIssuer.IssueAsync(handle.Workspace, access, lifetime, call.CancellationToken);
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

        return Results.Json(result);
    }

    private Task<IResult> GeneratePresignedUrlAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var clientMethod = args.OptionalString("client_method") ?? "get_object";
        var method = clientMethod switch
        {
            "get_object" => HttpMethod.Get,
            "put_object" => HttpMethod.Put,
            _ => throw new ApiArgumentException("client_method", "must be get_object or put_object"),
        };
        var path = FilePath(call, args.RequiredString("path"), "path");
        var expiry = args.Int("expiration", DefaultExpirySeconds, 1, MaxExpirySeconds);
        return Task.FromResult(Results.Json(Presign(call, method, path.Key, expiry)));
    }

    private static async Task<IResult> ListFilesAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var path = WorkspacePath.Parse(call.Workspace, args.OptionalString("path"), "path");
        var maxLength = args.Int("max_length", 1000, 1, 100_000);
        var offset = args.Int("offset", 0, 0, int.MaxValue);
        var directory = DirectoryKey(path);
        return Results.Json(await WorkspaceListing.ListAsync(call.Storage.Client, directory, offset, maxLength, call.CancellationToken));
    }

    private Task<IResult> GetFileAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var paths = args.StringOrList("file_path", out var isList);
        var expiry = args.Int("expires_in", DefaultExpirySeconds, 1, MaxExpirySeconds);
        var keys = paths.Select(p => FilePath(call, p, "file_path").Key).ToList();
        return Task.FromResult(UrlsResult(paths, isList, keys.Select(k => Presign(call, HttpMethod.Get, k, expiry))));
    }

    private async Task<IResult> PutFileAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var paths = args.StringOrList("file_path", out var isList);
        var expiry = args.Int("expires_in", DefaultExpirySeconds, 1, MaxExpirySeconds);
        var ttls = args.IntOrList("ttl", paths.Count, 1, MaxTtlSeconds);
        var keys = paths.Select(p => FilePath(call, p, "file_path").Key).ToList();
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

        return UrlsResult(paths, isList, keys.Select(k => Presign(call, HttpMethod.Put, k, expiry)));
    }

    private async Task<IResult> StartMultipartAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var path = FilePath(call, args.RequiredString("file_path"), "file_path");
        var partCount = args.Int("part_count", 0, 1, 10000);
        if (!args.Has("part_count"))
        {
            throw new ApiArgumentException("part_count", "is required");
        }

        var expiry = args.Int("expires_in", DefaultExpirySeconds, 1, MaxExpirySeconds);
        var ttlSeconds = args.OptionalInt("ttl", 1, MaxTtlSeconds);
        return Results.Json(await multipart.StartAsync(call.Storage, path, partCount, expiry, ttlSeconds, call.CancellationToken));
    }

    private async Task<IResult> CompleteMultipartAsync(S3StorageCall call)
    {
        var args = call.Arguments;
        var uploadId = args.RequiredString("upload_id");
        var parts = MultipartUploads.ReadParts(args.Raw("parts"));
        return Results.Json(await multipart.CompleteAsync(call.Storage, uploadId, parts, call.CancellationToken));
    }

    private static async Task<IResult> RemoveFileAsync(S3StorageCall call)
    {
        var raw = call.Arguments.RequiredString("path");
        var path = WorkspacePath.Parse(call.Workspace, raw, "path");
        var removed = await WorkspaceFiles.RemoveAsync(call.Storage.Client, path, call.CancellationToken);
        if (!removed)
        {
            var message = $"Path does not exist: {raw}";
            return Results.Json(new Dictionary<string, object> { ["success"] = false, ["message"] = message, ["detail"] = message });
        }

        return Results.Json(new Dictionary<string, object>
        {
            ["success"] = true,
            ["message"] = path.IsDirectory ? $"Directory removed: {raw}" : $"File removed: {raw}",
        });
    }

    /// <summary>A path that must name a file (not the root or a directory).</summary>
    internal static WorkspacePath FilePath(S3StorageCall call, string raw, string argument)
    {
        var path = WorkspacePath.Parse(call.Workspace, raw, argument);
        if (path.IsDirectory)
        {
            throw new ApiArgumentException(argument, "must name a file, not a directory (it is empty or ends in '/')");
        }

        return path;
    }

    internal static string DirectoryKey(WorkspacePath path) => path.IsDirectory ? path.Key : path.Key + "/";

    private string Presign(S3StorageCall call, HttpMethod method, string key, int expirySeconds) =>
        rewriter.Rewrite(call.Workspace, call.Storage.Client.Presign(method, key, TimeSpan.FromSeconds(expirySeconds)));

    private static IResult UrlsResult(IReadOnlyList<string> paths, bool isList, IEnumerable<string> urls)
    {
        var list = urls.ToList();
        if (!isList)
        {
            return Results.Json(list[0]);
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < paths.Count; i++)
        {
            result[paths[i]] = list[i];
        }

        return Results.Json(result);
    }
}
