using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Core.Tests.Signing;

/// <summary>Escaping against the framework's RFC 3986 escaper, across the stack-buffer and pooled-buffer sizes.</summary>
public sealed class AwsUriEncodingTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(85)]
    [InlineData(86)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(1024)]
    [InlineData(5000)]
    public void Matches_rfc3986_for_every_length(int length)
    {
        const string alphabet = "aZ09-_.~/ +%|?#&=é日😀\u0001";
        var random = new Random(length);
        var value = string.Concat(Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)]));
        value = value.Replace("\ud83d", "x", StringComparison.Ordinal).Replace("\ude00", "y", StringComparison.Ordinal); // no lone surrogates

        Assert.Equal(Uri.EscapeDataString(value), AwsUriEncoding.Escape(value));
        Assert.Equal(Uri.EscapeDataString(value).Replace("%2F", "/", StringComparison.Ordinal), AwsUriEncoding.Escape(value, keepSlash: true));
    }

    [Fact]
    public void Unreserved_text_is_returned_as_is()
    {
        const string plain = "ws-a/file_1.txt~";
        Assert.Same(plain, AwsUriEncoding.Escape(plain, keepSlash: true));
    }
}
