using System.Text;
using System.Text.Json;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Policies;

/// <summary>
/// Builds the IAM policy that confines one workspace identity to <c>bucket/W/</c>, following Hypha's
/// statements: list only under <c>W/</c>, no bucket-root listing, object actions only under <c>W/</c>.
/// Output is compact JSON because RGW rejects multi-line session policies.
/// </summary>
public static class WorkspacePolicyBuilder
{
    public const string Version = "2012-10-17";

    public static readonly IReadOnlyList<string> ReadOnlyObjectActions = ["s3:GetObject"];

    public static readonly IReadOnlyList<string> ReadWriteObjectActions =
        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];

    /// <summary>Over quota: reading and freeing space stay possible; no s3:PutObject, so no upload (single or multipart) starts or completes.</summary>
    public static readonly IReadOnlyList<string> ReadDeleteObjectActions =
        ["s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];

    /// <summary>The object actions of <paramref name="access"/>.</summary>
    public static IReadOnlyList<string> ObjectActions(AccessLevel access) => access switch
    {
        AccessLevel.ReadOnly => ReadOnlyObjectActions,
        AccessLevel.ReadWrite => ReadWriteObjectActions,
        AccessLevel.ReadDelete => ReadDeleteObjectActions,
        _ => throw new ArgumentOutOfRangeException(nameof(access), access, "unknown access level"),
    };

    public static string Build(string bucket, WorkspaceId workspace, AccessLevel access)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bucket);
        var bucketArn = "arn:aws:s3:::" + bucket;
        var prefix = workspace.Prefix;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("Version", Version);
            json.WriteStartArray("Statement");
            WriteStatement(json, "AllowUserToSeeTheBucketInTheConsole", ["s3:GetBucketLocation"], bucketArn, null);
            WriteStatement(json, "AllowRootAndHomeListingOfWorkspaceBucket", ["s3:ListBucket"], bucketArn,
                ("StringEquals", [("s3:prefix", prefix), ("s3:delimiter", "/")]));
            WriteStatement(json, "AllowListingOfWorkspaceFolder", ["s3:ListBucket"], bucketArn,
                ("StringLike", [("s3:prefix", prefix + "*")]));
            WriteStatement(json, "AllowObjectActionsInWorkspaceFolder",
                ObjectActions(access), $"{bucketArn}/{prefix}*", null);
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteStatement(Utf8JsonWriter json, string sid, IReadOnlyList<string> actions, string resource,
        (string Operator, (string Key, string Value)[] Entries)? condition)
    {
        json.WriteStartObject();
        json.WriteString("Sid", sid);
        json.WriteString("Effect", "Allow");
        json.WriteStartArray("Action");
        foreach (var action in actions)
        {
            json.WriteStringValue(action);
        }

        json.WriteEndArray();
        json.WriteStartArray("Resource");
        json.WriteStringValue(resource);
        json.WriteEndArray();
        if (condition is { } c)
        {
            json.WriteStartObject("Condition");
            json.WriteStartObject(c.Operator);
            foreach (var (key, value) in c.Entries)
            {
                json.WriteStartArray(key);
                json.WriteStringValue(value);
                json.WriteEndArray();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }
}
