using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.OnDemand;
using WorkspaceStorage.Api.Workspaces;

namespace WorkspaceStorage.Api.Tests.Deployment;

/// <summary>
/// Every API setting docs/deploy.md and the example overlay name (as environment variables, "__" for ":") is one the
/// API binds, so an admin who copies one gets what the doc says rather than a setting silently ignored.
/// </summary>
public sealed partial class DeployDocSettingsTests
{
    /// <summary>The HyphaRegistration settings the API takes (its options type is not in this test's reach yet).</summary>
    internal static readonly string[] RegistrationSettings =
    [
        "HyphaRegistration__ServerUrl", "HyphaRegistration__Workspace", "HyphaRegistration__ServiceId",
        "HyphaRegistration__RootTokenFile", "HyphaRegistration__TokenFile", "HyphaRegistration__Takeover",
    ];

    /// <summary>Read by the API directly from configuration, not through an options class.</summary>
    private static readonly string[] ReadDirectly = ["Api__WorkspaceSource"];

    public static TheoryData<string> Sources => ["docs/deploy.md", .. HyphaOverlay.EnvFiles().Select(f => $"{HyphaOverlay.Directory}/{f}")];

    [Theory]
    [MemberData(nameof(Sources))]
    public void Every_setting_named_is_one_the_API_binds(string file)
    {
        var text = File.ReadAllText(RepositoryRoot.Combine(file));
        var names = SettingName().Matches(text).Select(m => m.Value).Distinct(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(names);
        var unknown = names.Where(n => !IsKnown(n)).ToList();
        Assert.True(unknown.Count == 0, $"{file} names settings the API does not have: {string.Join(", ", unknown)}");
    }

    [Fact]
    public void The_public_annotation_in_the_doc_is_the_one_the_API_reads()
    {
        var doc = File.ReadAllText(RepositoryRoot.Combine("docs", "deploy.md"));
        Assert.Contains($"`{KubernetesWorkspaceDirectory.PublicAnnotation}`", doc, StringComparison.Ordinal);
    }

    private static bool IsKnown(string name)
    {
        if (RegistrationSettings.Contains(name) || ReadDirectly.Contains(name))
        {
            return true;
        }

        var path = name.Split("__");
        return path[0] switch
        {
            OnDemandOptions.SectionName => HasPath(typeof(OnDemandOptions), path.AsSpan(1)),
            ApiOptions.SectionName => HasPath(typeof(ApiOptions), path.AsSpan(1)),
            _ => false,
        };
    }

    /// <summary>Whether configuration keys <paramref name="path"/> bind to a property of <paramref name="type"/> (list indexes allowed).</summary>
    private static bool HasPath(Type type, ReadOnlySpan<string> path)
    {
        if (path.IsEmpty)
        {
            return true;
        }

        if (type != typeof(string) && typeof(IList).IsAssignableFrom(type) && type.IsGenericType)
        {
            return int.TryParse(path[0], out _) && HasPath(type.GetGenericArguments()[0], path[1..]);
        }

        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance);
        return property is { CanWrite: true } && HasPath(Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType, path[1..]);
    }

    [GeneratedRegex(@"\b(?:OnDemand|Api|HyphaRegistration)(?:__[A-Za-z0-9]+)+")]
    private static partial Regex SettingName();
}
