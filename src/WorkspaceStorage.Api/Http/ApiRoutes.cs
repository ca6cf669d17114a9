using Prometheus;
using Scalar.AspNetCore;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Files;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Multipart;
using WorkspaceStorage.Api.Proxy;

namespace WorkspaceStorage.Api.Http;

/// <summary>
/// Every HTTP route of the companion API, with who may call it. Authentication (a Hypha token, or anonymous) runs for
/// every route except those marked "no identity". The s3-storage routes check permission per function inside
/// <see cref="S3Storage.S3StorageInvoker"/> — the same decision the Hypha RPC registration uses — because what a call
/// needs depends on its arguments (presigning put_object needs rw, get_object r). The other workspace routes declare
/// their permission here; everything under <c>/{workspace}</c> hangs off one route group.
/// </summary>
public static class ApiRoutes
{
    private static readonly string[] GetOrPost = [HttpMethods.Get, HttpMethods.Post];

    public static void MapApiRoutes(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<ApiMetrics>();

        // Probes, metrics and API docs: no identity.
        app.MapHealthEndpoints();                                                      // /healthz, /readyz
        app.MapMetrics("/metrics", metrics.Registry).SkipHyphaAuthentication();
        app.MapOpenApi().SkipHyphaAuthentication();                                    // /openapi/v1.json
        app.MapScalarApiReference().SkipHyphaAuthentication();                         // /scalar

        // The s3-storage service. Permission: per function (S3StorageService's table), checked by the invoker.
        app.MapGet("/public/services/s3-storage", ServiceRoutes.Describe).WithName("DescribeS3Storage");
        app.MapMethods("/public/services/s3-storage/{function}", GetOrPost, ServiceRoutes.CallOnCurrentWorkspaceAsync)
            .WithName("CallS3StorageOnCurrentWorkspace")
            .WithSummary("Call a function on the token's current workspace (wid:), as Hypha's own gateway does.")
            .ProducesServiceErrors();

        // Everything under a workspace named in the path; its id is validated once, on the group (see WorkspaceRouteFilter).
        var workspace = app.MapGroup("/{workspace}")
            .AddEndpointFilter(WorkspaceRouteFilter.InvokeAsync)
            .WithMetadata(WorkspaceRouteFilter.Produces);
        workspace.MapGet("/services/s3-storage", ServiceRoutes.Describe).WithName("DescribeS3StorageForWorkspace");
        workspace.MapMethods("/services/s3-storage/{function}", GetOrPost, ServiceRoutes.CallAsync)
            .WithName("CallS3Storage")
            .WithSummary("Call a function on the workspace named in the path (this API's extension).")
            .ProducesServiceErrors();

        // Hypha's multipart routes: HTTP forms of put_file_start_multipart and put_file_complete_multipart (rw, by the invoker).
        workspace.MapPost("/create-multipart-upload", MultipartRoutes.CreateAsync).WithName("CreateMultipartUpload").ProducesServiceErrors();
        workspace.MapPost("/complete-multipart-upload", MultipartRoutes.CompleteAsync).WithName("CompleteMultipartUpload").ProducesServiceErrors();

        // Files, streamed both ways.
        const string file = "/files/{**path}";
        workspace.MapGet(file, FileRoutes.GetAsync).RequireWorkspacePermission(Permission.Read).WithName("GetFile")
            .WithSummary("Download a file (Range supported), or list a directory when the path ends in '/'.")
            .Produces<ApiError>(StatusCodes.Status416RangeNotSatisfiable);
        workspace.MapMethods(file, [HttpMethods.Head], FileRoutes.HeadAsync).RequireWorkspacePermission(Permission.Read).WithName("HeadFile");
        workspace.MapPut(file, FileRoutes.PutAsync).RequireWorkspacePermission(Permission.ReadWrite).AllowUnlimitedRequestBody().WithName("PutFile")
            .WithSummary("Upload a file; the body is streamed to S3.");
        workspace.MapDelete(file, FileRoutes.DeleteAsync).RequireWorkspacePermission(Permission.ReadWrite).WithName("DeleteFile")
            .WithSummary("Delete a file, or a whole directory when the path ends in '/'.");

        // /s3/{bucket}/{**key} when Api:S3Proxy:Enabled: no identity (the presigned signature is the access control).
        app.MapS3Proxy();
    }

    private static RouteHandlerBuilder ProducesServiceErrors(this RouteHandlerBuilder builder) => builder
        .Produces<ApiError>(StatusCodes.Status400BadRequest)
        .Produces<ApiError>(StatusCodes.Status403Forbidden)
        .Produces<ApiError>(StatusCodes.Status404NotFound)
        .Produces<ApiError>(StatusCodes.Status503ServiceUnavailable);
}
