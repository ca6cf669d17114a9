using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Http;
using WorkspaceStorage.Api.Paths;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Api.Tests.Host;

/// <summary>Routes tests map onto the real app to exercise the foundations the way route handlers will use them.</summary>
internal static class ProbeRoutes
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/{workspace}/probe/read", Describe).RequireWorkspacePermission(Permission.Read);
        app.MapPut("/{workspace}/probe/write", Describe).RequireWorkspacePermission(Permission.ReadWrite);
        app.MapDelete("/{workspace}/probe/admin", Describe).RequireWorkspacePermission(Permission.Admin);

        // A plain RequestDelegate endpoint (endpoint filters would not run here; the check must still hold).
        app.MapMethods("/{workspace}/probe/delegate", ["GET"], (RequestDelegate)(context =>
            context.Response.WriteAsJsonAsync(new ProbeGrant(context.GetWorkspaceGrant().Granted.ToCode()))))
            .RequireWorkspacePermission(Permission.ReadWrite);

        // A JSON-bodied endpoint: the permission check must come before the body is bound.
        app.MapPost("/{workspace}/probe/json", (ProbeBody body) => Results.Json(body))
            .RequireWorkspacePermission(Permission.ReadWrite);

        // The imperative form, for handlers whose needed permission depends on an argument.
        app.MapGet("/{workspace}/probe/presign", async (HttpContext context, string workspace, string client_method) =>
        {
            var required = client_method switch
            {
                "get_object" => Permission.Read,
                "put_object" => Permission.ReadWrite,
                _ => throw new Api.Errors.ApiArgumentException("client_method", "must be get_object or put_object"),
            };
            if (!WorkspaceId.TryParse(workspace, out var id, out var rule))
            {
                throw new Api.Errors.ApiArgumentException("workspace", rule);
            }

            var authorizer = context.RequestServices.GetRequiredService<WorkspaceAuthorizer>();
            var access = await authorizer.RequireAsync(context.GetHyphaPrincipal(), id, required, context.RequestAborted);
            return Results.Json(new ProbeGrant(access.Granted.ToCode()));
        });

        app.MapGet("/{workspace}/probe/path", (HttpContext context, string? path) =>
        {
            var parsed = WorkspacePath.Parse(context.GetWorkspaceGrant().Workspace, path);
            return Results.Json(new ProbePath(parsed.Key, parsed.IsDirectory));
        }).RequireWorkspacePermission(Permission.Read);

        // The shape the file routes will have: a catch-all path after the workspace.
        app.MapGet("/{workspace}/files/{**path}", (HttpContext context, string? path) =>
        {
            var parsed = WorkspacePath.Parse(context.GetWorkspaceGrant().Workspace, path);
            return Results.Json(new ProbePath(parsed.Key, parsed.IsDirectory));
        }).RequireWorkspacePermission(Permission.Read).WithOrder(-1); // wins over the real GET file route, which has the same template

        app.MapGet("/s3/{bucket}/{**key}", (string bucket, string key) => Results.Json(new ProbeS3Path(bucket, key))).SkipHyphaAuthentication();

        app.MapGet("/probe/throw", IResult () => throw new InvalidOperationException("database password is hunter2"));
        app.MapGet("/probe/unavailable", IResult () => throw new BackendUnavailableException("rgw at 10.0.0.1 timed out"));
        app.MapGet("/probe/count", (int count) => Results.Json(new ProbeCount(count)));
        app.MapPost("/probe/upload", async (HttpContext context) =>
        {
            long total = 0;
            var buffer = new byte[81920];
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                total += read;
            }

            return Results.Json(new ProbeTotal(total));
        }).AllowUnlimitedRequestBody();
        app.MapPost("/probe/small-upload", async (HttpContext context) =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            return Results.Ok();
        });
    }

    private static IResult Describe(HttpContext context)
    {
        var access = context.GetWorkspaceGrant();
        return Results.Json(new ProbeAccess(access.Principal.UserId, access.Workspace.Value, access.Granted.ToCode(), access.Principal.IsAnonymous));
    }
}

internal sealed record ProbeBody(string Name);

internal sealed record ProbeAccess(string User, string Workspace, string Granted, bool Anonymous);

internal sealed record ProbeGrant(string Granted);

internal sealed record ProbePath(string Key, bool IsDirectory);

internal sealed record ProbeS3Path(string Bucket, string Key);

internal sealed record ProbeCount(int Count);

internal sealed record ProbeTotal(long Total);

/// <summary>
/// The probes' JSON, chained into the API's JSON options by <see cref="TestApi"/>: the API has no reflection fallback
/// (so its tests meet the contract of the Native AOT build), and the probes' answers must be known to it too.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ProbeBody))]
[JsonSerializable(typeof(ProbeAccess))]
[JsonSerializable(typeof(ProbeGrant))]
[JsonSerializable(typeof(ProbePath))]
[JsonSerializable(typeof(ProbeS3Path))]
[JsonSerializable(typeof(ProbeCount))]
[JsonSerializable(typeof(ProbeTotal))]
internal sealed partial class ProbeJsonContext : JsonSerializerContext;
