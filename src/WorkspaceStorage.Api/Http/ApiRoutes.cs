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
/// their permission here.
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
        app.MapGet("/{workspace}/services/s3-storage", ServiceRoutes.DescribeForWorkspace).WithName("DescribeS3StorageForWorkspace");
        app.MapMethods("/{workspace}/services/s3-storage/{function}", GetOrPost, ServiceRoutes.CallAsync)
            .WithName("CallS3Storage")
            .WithSummary("Call a function on the workspace named in the path (this API's extension).")
            .ProducesServiceErrors();

        // Hypha's multipart routes: HTTP forms of put_file_start_multipart and put_file_complete_multipart (rw, by the invoker).
        app.MapPost("/{workspace}/create-multipart-upload", MultipartRoutes.CreateAsync).WithName("CreateMultipartUpload").ProducesServiceErrors();
        app.MapPost("/{workspace}/complete-multipart-upload", MultipartRoutes.CompleteAsync).WithName("CompleteMultipartUpload").ProducesServiceErrors();

        // Files, streamed both ways.
        const string file = "/{workspace}/files/{**path}";
        app.MapGet(file, FileRoutes.GetAsync).RequireWorkspacePermission(Permission.Read).WithName("GetFile")
            .WithSummary("Download a file (Range supported), or list a directory when the path ends in '/'.");
        app.MapMethods(file, [HttpMethods.Head], FileRoutes.HeadAsync).RequireWorkspacePermission(Permission.Read).WithName("HeadFile");
        app.MapPut(file, FileRoutes.PutAsync).RequireWorkspacePermission(Permission.ReadWrite).AllowUnlimitedRequestBody().WithName("PutFile")
            .WithSummary("Upload a file; the body is streamed to S3.");
        app.MapDelete(file, FileRoutes.DeleteAsync).RequireWorkspacePermission(Permission.ReadWrite).WithName("DeleteFile")
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
