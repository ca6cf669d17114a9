namespace Hypha.Rpc.Tokens;

/// <summary>A secret string given inline or read from a file (a mounted Secret) each time it is needed, so a rotated file is picked up.</summary>
public sealed class SecretText
{
    private readonly string? value;

    private SecretText(string? value, string? path)
    {
        this.value = value;
        FilePath = path;
    }

    /// <summary>The file the secret is read from; null when it was given inline.</summary>
    public string? FilePath { get; }

    public static SecretText FromValue(string value) =>
        string.IsNullOrWhiteSpace(value) ? throw new ArgumentException("the secret must not be empty", nameof(value)) : new SecretText(value.Trim(), null);

    public static SecretText FromFile(string path) =>
        string.IsNullOrWhiteSpace(path) ? throw new ArgumentException("the secret file path must not be empty", nameof(path)) : new SecretText(null, path);

    public async ValueTask<string> ReadAsync(CancellationToken cancellationToken)
    {
        if (FilePath is null)
        {
            return value!;
        }

        string text;
        try
        {
            text = (await File.ReadAllTextAsync(FilePath, cancellationToken)).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HyphaConnectionException($"cannot read the token file {FilePath}: {ex.GetType().Name}");
        }

        return text.Length > 0 ? text : throw new HyphaConnectionException($"the token file {FilePath} is empty");
    }

    public override string ToString() => FilePath is null ? "SecretText(inline)" : $"SecretText(file {FilePath})";
}
