using System.Text;
using System.Text.Json.Nodes;

namespace WorkspaceStorage.Kubernetes.InMemory;

/// <summary>
/// A Secret's write-only <c>stringData</c> is merged into <c>data</c> (base64, overriding the same keys) and never
/// stored, as the real API server does: a client writing stringData must read it back from data.
/// </summary>
public static class SecretStringData
{
    public static void Fold(JsonObject secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret["stringData"] is not JsonObject stringData)
        {
            return;
        }

        var data = secret["data"] as JsonObject ?? [];
        foreach (var (key, value) in stringData)
        {
            data[key] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value?.ToString() ?? string.Empty));
        }

        secret["data"] = data;
        secret.Remove("stringData");
    }
}
