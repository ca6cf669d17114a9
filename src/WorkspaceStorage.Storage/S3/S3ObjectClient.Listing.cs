using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.S3;

/// <summary>Listing objects: ListObjectsV2 pages, one at a time or all of them.</summary>
public sealed partial class S3ObjectClient
{
    /// <summary>One page of ListObjectsV2 under <paramref name="prefix"/>.</summary>
    /// <param name="delimiter">Usually "/": keys below the next delimiter fold into <see cref="S3ListPage.CommonPrefixes"/>.</param>
    /// <param name="maxKeys">1 to 1000; S3's default (1000) when null.</param>
    public async Task<S3ListPage> ListAsync(string prefix, string? delimiter = null, string? continuationToken = null, int? maxKeys = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (maxKeys is < 1 or > 1000)
        {
            throw new BackendValidationException("maxKeys", "must be between 1 and 1000");
        }

        var query = new StringBuilder("list-type=2&encoding-type=url");
        AppendQuery(query, "prefix", prefix);
        if (!string.IsNullOrEmpty(delimiter))
        {
            AppendQuery(query, "delimiter", delimiter);
        }

        if (continuationToken is not null)
        {
            AppendQuery(query, "continuation-token", continuationToken);
        }

        if (maxKeys is { } max)
        {
            AppendQuery(query, "max-keys", max.ToString(CultureInfo.InvariantCulture));
        }

        var response = await SendControlAsync(HttpMethod.Get, BucketUrl(query.ToString()), "ListObjectsV2", isWrite: false, cancellationToken);
        EnsureSuccess(response, "ListObjectsV2", prefix);
        return S3Xml.ReadListPage(response.Body);
    }

    /// <summary>Every page under <paramref name="prefix"/>, fetched as the caller walks them.</summary>
    /// <param name="pageSize">Keys per request, 1 to 1000 (S3's default when null).</param>
    public async IAsyncEnumerable<S3ListPage> ListAllAsync(string prefix, string? delimiter = null, int? pageSize = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await ListAsync(prefix, delimiter, token, pageSize, cancellationToken);
            yield return page;
            token = page.NextContinuationToken;
        }
        while (token is not null);
    }
}
