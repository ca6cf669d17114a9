using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using WorkspaceStorage.Core.Policies;

namespace WorkspaceStorage.Storage.S3;

/// <summary>Reads and writes the XML documents of the S3 REST API. Elements are matched by local name (RGW and AWS differ in namespaces).</summary>
internal static class S3Xml
{
    private static readonly XNamespace Ns = "http://s3.amazonaws.com/doc/2006-03-01/";

    public static XElement Parse(byte[] body)
    {
        using var stream = new MemoryStream(body, writable: false);
        using var reader = XmlReader.Create(stream, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
        return XDocument.Load(reader).Root ?? throw new XmlException("empty document");
    }

    /// <summary>Code and Message of an S3 error body, or nulls when the body is not one.</summary>
    public static (string? Code, string? Message) ReadError(byte[] body)
    {
        if (body.Length == 0)
        {
            return (null, null);
        }

        try
        {
            var root = Parse(body);
            return root.Name.LocalName == "Error" ? (Value(root, "Code"), Value(root, "Message")) : (null, null);
        }
        catch (XmlException)
        {
            return (null, null);
        }
    }

    public static S3ListPage ReadListPage(byte[] body)
    {
        var root = Parse(body);
        var decode = Value(root, "EncodingType") == "url";
        var objects = new List<S3ObjectInfo>();
        var prefixes = new List<string>();
        foreach (var element in root.Elements())
        {
            switch (element.Name.LocalName)
            {
                case "Contents":
                    objects.Add(new S3ObjectInfo(
                        Decode(Required(element, "Key"), decode),
                        long.Parse(Required(element, "Size"), NumberStyles.None, CultureInfo.InvariantCulture),
                        ParseTime(Required(element, "LastModified")),
                        Value(element, "ETag") ?? string.Empty));
                    break;
                case "CommonPrefixes":
                    prefixes.Add(Decode(Required(element, "Prefix"), decode));
                    break;
            }
        }

        var truncated = Value(root, "IsTruncated") == "true";
        return new S3ListPage(objects, prefixes, truncated ? Required(root, "NextContinuationToken") : null);
    }

    public static (IReadOnlyList<S3UploadedPart> Parts, int? NextMarker) ReadPartsPage(byte[] body)
    {
        var root = Parse(body);
        var parts = root.Elements().Where(e => e.Name.LocalName == "Part").Select(p => new S3UploadedPart(
            int.Parse(Required(p, "PartNumber"), NumberStyles.None, CultureInfo.InvariantCulture),
            Required(p, "ETag"),
            long.Parse(Required(p, "Size"), NumberStyles.None, CultureInfo.InvariantCulture),
            ParseTime(Required(p, "LastModified")))).ToList();
        var truncated = Value(root, "IsTruncated") == "true";
        return (parts, truncated ? int.Parse(Required(root, "NextPartNumberMarker"), NumberStyles.None, CultureInfo.InvariantCulture) : null);
    }

    public static (IReadOnlyList<S3MultipartUpload> Uploads, string? NextKeyMarker, string? NextUploadIdMarker) ReadUploadsPage(byte[] body)
    {
        var root = Parse(body);
        var decode = Value(root, "EncodingType") == "url";
        var uploads = root.Elements().Where(e => e.Name.LocalName == "Upload").Select(u => new S3MultipartUpload(
            Decode(Required(u, "Key"), decode),
            Required(u, "UploadId"),
            Value(u, "Initiated") is { } initiated ? ParseTime(initiated) : null)).ToList();
        var truncated = Value(root, "IsTruncated") == "true";
        return truncated
            ? (uploads, Decode(Required(root, "NextKeyMarker"), decode), Value(root, "NextUploadIdMarker"))
            : (uploads, null, null);
    }

    public static string ReadUploadId(byte[] body) => Required(Parse(body), "UploadId");

    public static IReadOnlyList<S3DeleteError> ReadDeleteErrors(byte[] body) =>
        Parse(body).Elements().Where(e => e.Name.LocalName == "Error")
            .Select(e => new S3DeleteError(Value(e, "Key") ?? string.Empty, Value(e, "Code") ?? "Unknown", Value(e, "Message") ?? string.Empty))
            .ToList();

    public static byte[] WriteDelete(IReadOnlyList<string> keys)
    {
        var document = new XElement(Ns + "Delete", new XElement(Ns + "Quiet", "true"),
            keys.Select(k => new XElement(Ns + "Object", new XElement(Ns + "Key", k))));
        return Serialize(document);
    }

    public static byte[] WriteComplete(IReadOnlyList<S3CompletedPart> parts)
    {
        var document = new XElement(Ns + "CompleteMultipartUpload", parts.Select(p => new XElement(Ns + "Part",
            new XElement(Ns + "PartNumber", p.PartNumber.ToString(CultureInfo.InvariantCulture)),
            new XElement(Ns + "ETag", p.ETag))));
        return Serialize(document);
    }

    /// <summary>The rules of a GetBucketCors answer.</summary>
    public static IReadOnlyList<BucketCorsRule> ReadCors(byte[] body) =>
        Parse(body).Elements().Where(e => e.Name.LocalName == "CORSRule").Select(rule => new BucketCorsRule(
            Values(rule, "AllowedOrigin"), Values(rule, "AllowedMethod"), Values(rule, "AllowedHeader"), Values(rule, "ExposeHeader"),
            Value(rule, "MaxAgeSeconds") is { } age ? int.Parse(age, NumberStyles.None, CultureInfo.InvariantCulture) : null,
            Value(rule, "ID"))).ToList();

    /// <summary>A whole CORS configuration: S3 has no call that adds or removes one rule, so every rule is written back.</summary>
    public static byte[] WriteCors(IReadOnlyList<BucketCorsRule> rules)
    {
        var document = new XElement(Ns + "CORSConfiguration", rules.Select(rule => new XElement(Ns + "CORSRule",
            rule.Id is { } id ? new XElement(Ns + "ID", id) : null,
            rule.AllowedHeaders.Select(h => new XElement(Ns + "AllowedHeader", h)),
            rule.AllowedMethods.Select(m => new XElement(Ns + "AllowedMethod", m)),
            rule.AllowedOrigins.Select(o => new XElement(Ns + "AllowedOrigin", o)),
            rule.ExposeHeaders.Select(h => new XElement(Ns + "ExposeHeader", h)),
            rule.MaxAgeSeconds is { } age ? new XElement(Ns + "MaxAgeSeconds", age.ToString(CultureInfo.InvariantCulture)) : null)));
        return Serialize(document);
    }

    public static string? Value(XElement parent, string localName) =>
        parent.Elements().FirstOrDefault(e => e.Name.LocalName == localName)?.Value;

    private static IEnumerable<string> Values(XElement parent, string localName) =>
        parent.Elements().Where(e => e.Name.LocalName == localName).Select(e => e.Value);

    private static string Required(XElement parent, string localName) =>
        Value(parent, localName) ?? throw new XmlException($"S3 answer has no <{localName}> in <{parent.Name.LocalName}>");

    private static string Decode(string value, bool urlEncoded) =>
        urlEncoded ? Uri.UnescapeDataString(value.Replace('+', ' ')) : value;

    private static DateTimeOffset ParseTime(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static byte[] Serialize(XElement document)
    {
        using var stream = new MemoryStream();
        using (var writer = XmlWriter.Create(stream, new XmlWriterSettings { Encoding = new UTF8Encoding(false), OmitXmlDeclaration = false }))
        {
            document.WriteTo(writer);
        }

        return stream.ToArray();
    }
}
