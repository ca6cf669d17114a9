namespace WorkspaceStorage.Storage.S3;

/// <summary>How S3 answered a GetObject.</summary>
public enum S3GetStatus
{
    /// <summary>200: the whole object.</summary>
    Ok,

    /// <summary>206: the requested range; see <see cref="S3GetResult.ContentRange"/>.</summary>
    PartialContent,

    /// <summary>404 NoSuchKey: no body.</summary>
    NotFound,

    /// <summary>416: the range lies beyond the object; <see cref="S3GetResult.ObjectSize"/> when S3 said it. No body.</summary>
    RangeNotSatisfiable,
}

/// <summary>
/// A GetObject answer whose body is still on the wire. Copy <see cref="Body"/> and dispose this result (or the body)
/// to hand the connection back to the pool. Nothing is buffered.
/// </summary>
public sealed class S3GetResult : IDisposable, IAsyncDisposable
{
    private readonly HttpResponseMessage? response;

    internal S3GetResult(S3GetStatus status, HttpResponseMessage? response, Stream body)
    {
        Status = status;
        this.response = response;
        Body = body;
        if (response is null)
        {
            return;
        }

        var content = response.Content.Headers;
        ContentLength = content.ContentLength;
        ContentRange = content.ContentRange?.ToString();
        ContentType = content.ContentType?.ToString();
        LastModified = content.LastModified;
        ETag = response.Headers.ETag?.ToString() ?? HeaderValue(response, "ETag");
        AcceptRanges = response.Headers.AcceptRanges.Count > 0 ? string.Join(',', response.Headers.AcceptRanges) : null;
        ObjectSize = content.ContentRange?.Length ?? (status == S3GetStatus.Ok ? content.ContentLength : null);
    }

    public S3GetStatus Status { get; }

    /// <summary>200 or 206 (a body follows).</summary>
    public bool HasBody => Status is S3GetStatus.Ok or S3GetStatus.PartialContent;

    /// <summary>The HTTP status to pass on: 200, 206, 404 or 416.</summary>
    public int HttpStatus => Status switch
    {
        S3GetStatus.Ok => 200,
        S3GetStatus.PartialContent => 206,
        S3GetStatus.NotFound => 404,
        _ => 416,
    };

    /// <summary>Length of <see cref="Body"/> in bytes.</summary>
    public long? ContentLength { get; }

    /// <summary>e.g. "bytes 0-9/1234" on 206, "bytes */1234" on 416 when S3 sends it.</summary>
    public string? ContentRange { get; }

    public string? ETag { get; }

    public DateTimeOffset? LastModified { get; }

    public string? ContentType { get; }

    public string? AcceptRanges { get; }

    /// <summary>The whole object's size, when known (from Content-Range, or Content-Length on 200).</summary>
    public long? ObjectSize { get; }

    /// <summary>The body, streamed from S3; empty when <see cref="HasBody"/> is false.</summary>
    public Stream Body { get; }

    public void Dispose()
    {
        Body.Dispose();
        response?.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await Body.DisposeAsync();
        response?.Dispose();
    }

    private static string? HeaderValue(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
