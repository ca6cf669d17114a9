using System.Text.Json;
using WorkspaceStorage.Core.Model;

namespace WorkspaceStorage.Resources.Tests;

/// <summary>Status is readable by anyone who may `kubectl get` the resource: it must have no place for key material.</summary>
public sealed class StatusHoldsNoSecretsTests
{
    [Theory]
    [InlineData(typeof(WorkspaceStorageStatus))]
    [InlineData(typeof(StorageBackendStatus))]
    public void Status_types_have_no_field_for_a_secret_key_or_token(Type statusType)
    {
        var names = statusType.GetProperties().Select(p => p.Name);
        Assert.DoesNotContain(names, n => n.Contains("SecretAccessKey", StringComparison.OrdinalIgnoreCase)
            || n.Contains("SecretKey", StringComparison.OrdinalIgnoreCase)
            || n.Contains("Token", StringComparison.OrdinalIgnoreCase)
            || n.Contains("Password", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Undefined_enum_values_round_trip_through_plain_json_without_throwing()
    {
        var spec = JsonSerializer.Deserialize<WorkspaceStorageSpec>("""{"access":"Admin","secret":{"keySets":["aws","nope"]}}""")!;
        Assert.False(Enum.IsDefined(spec.Access));
        Assert.False(Enum.IsDefined(spec.Secret!.KeySets[1]));
        var again = JsonSerializer.Deserialize<WorkspaceStorageSpec>(JsonSerializer.Serialize(spec))!;
        Assert.Equal(spec.Access, again.Access);
        Assert.Contains("\"access\":\"(unknown)\"", JsonSerializer.Serialize(spec), StringComparison.Ordinal);
    }
}
