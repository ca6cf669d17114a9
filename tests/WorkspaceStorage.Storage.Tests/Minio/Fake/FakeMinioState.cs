namespace WorkspaceStorage.Storage.Tests.Minio;

internal sealed class FakeUser
{
    public string Secret { get; set; } = "";

    public string Status { get; set; } = "enabled";

    public List<string> Policies { get; } = [];

    public bool Enabled => Status == "enabled";
}

internal sealed class FakeGroup
{
    public string Status { get; set; } = "enabled";

    public List<string> Members { get; } = [];

    public List<string> Policies { get; } = [];
}

internal sealed class FakeServiceAccount
{
    public required string Parent { get; init; }

    public required string Secret { get; set; }

    public string Status { get; set; } = "on";

    public string? SessionPolicy { get; set; }

    public string? Name { get; set; }

    public string? Description { get; set; }

    public DateTimeOffset? Expiration { get; set; }

    public bool Enabled => Status == "on";
}
