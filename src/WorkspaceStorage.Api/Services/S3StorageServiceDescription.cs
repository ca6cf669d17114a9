using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Services;

/// <summary>
/// <c>GET /{workspace}/services/s3-storage</c>: the service description Hypha returns for its
/// <c>public/s3-storage</c> service (id, name, type, config, and each method as
/// <c>{"type": "function", "function": {"name": ...}}</c>, the way Hypha serialises callables).
/// The methods themselves are served by <c>/{workspace}/services/s3-storage/{method}</c>, added by the route handlers.
/// </summary>
public static class S3StorageServiceDescription
{
    public const string ServiceId = "public/s3-storage";
    public const string RouteTemplate = "/{workspace}/services/s3-storage";

    /// <summary>Method name → one-line description, in Hypha's order.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Methods { get; } =
    [
        new("generate_credential", "Issue temporary S3 credentials confined to the workspace prefix (needs rw)."),
        new("generate_presigned_url", "Presign get_object (needs r) or put_object (needs rw) for one key."),
        new("list_files", "List files and directories under a path (needs r)."),
        new("get_file", "Presigned download URL(s) for one path or a list (needs r)."),
        new("put_file", "Presigned upload URL(s) for one path or a list, optionally with a ttl (needs rw)."),
        new("put_file_start_multipart", "Start a multipart upload and presign its parts (needs rw)."),
        new("put_file_complete_multipart", "Complete a multipart upload started in this workspace (needs rw)."),
        new("remove_file", "Remove a file, or a directory when the path ends in '/' (needs rw)."),
    ];

    internal static void MapS3StorageServiceDescription(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet(RouteTemplate, (string workspace) =>
            {
                if (WorkspaceId.Validate(workspace) is { } rule)
                {
                    return ApiErrors.BadRequest("workspace", rule);
                }

                return Results.Json(Describe());
            })
            .WithName("GetS3StorageService")
            .WithSummary("Describe the s3-storage service (Hypha's service info shape).")
            .Produces<Dictionary<string, object>>()
            .Produces<ApiError>(StatusCodes.Status400BadRequest)
            .Produces<ApiError>(StatusCodes.Status401Unauthorized);

    public static Dictionary<string, object> Describe()
    {
        var description = new Dictionary<string, object>
        {
            ["id"] = ServiceId,
            ["name"] = "S3 Storage",
            ["type"] = "s3-storage",
            ["description"] = "S3 storage for workspace files: credentials, presigned URLs, listing and removal.",
            ["config"] = new Dictionary<string, object>
            {
                ["visibility"] = "public",
                ["require_context"] = true,
                ["workspace"] = "public",
            },
        };
        foreach (var (name, summary) in Methods)
        {
            description[name] = new Dictionary<string, object>
            {
                ["type"] = "function",
                ["function"] = new Dictionary<string, object> { ["name"] = name, ["description"] = summary },
            };
        }

        return description;
    }
}
