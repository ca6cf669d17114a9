using System.Text;
using System.Text.Json;
using System.Xml.Linq;

namespace WorkspaceStorage.Storage.Http;

/// <summary>Reads the error code out of an error body: JSON <c>{"Code":…}</c> (MinIO admin, RGW Admin Ops) or XML <c>&lt;Error&gt;&lt;Code&gt;</c> (S3, IAM, STS).</summary>
public static class BackendErrorCode
{
    public static string? TryRead(ReadOnlySpan<byte> body)
    {
        var text = Encoding.UTF8.GetString(body).Trim();
        if (text.Length == 0)
        {
            return null;
        }

        try
        {
            if (text[0] == '{')
            {
                using var doc = JsonDocument.Parse(text);
                return doc.RootElement.TryGetProperty("Code", out var code) ? code.GetString() : null;
            }

            if (text[0] == '<')
            {
                var element = XDocument.Parse(text).Descendants().FirstOrDefault(e => e.Name.LocalName == "Code");
                return element?.Value;
            }
        }
        catch (Exception ex) when (ex is JsonException or System.Xml.XmlException)
        {
            return null;
        }

        return null;
    }
}
