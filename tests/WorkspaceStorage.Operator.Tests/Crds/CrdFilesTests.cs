using WorkspaceStorage.Operator.Crds;

namespace WorkspaceStorage.Operator.Tests.Crds;

/// <summary>
/// The committed CRDs are exactly what the generator makes from the C# model. To update them after a model change:
/// <c>WSO_UPDATE_CRDS=1 dotnet test tests/WorkspaceStorage.Operator.Tests --filter FullyQualifiedName~Crds</c>.
/// </summary>
public sealed class CrdFilesTests
{
    private const string FixCommand = "WSO_UPDATE_CRDS=1 dotnet test tests/WorkspaceStorage.Operator.Tests --filter FullyQualifiedName~Crds";

    public static TheoryData<string> Definitions() => new(CrdCatalog.All.Select(d => d.Kind));

    [Theory]
    [MemberData(nameof(Definitions))]
    public void Committed_crd_files_match_the_model(string kind)
    {
        var definition = CrdCatalog.All.Single(d => d.Kind == kind);
        var expected = CrdGenerator.Generate(definition);
        var update = Environment.GetEnvironmentVariable("WSO_UPDATE_CRDS") == "1";

        foreach (var directory in new[] { "crds", Path.Combine("config", "crd", "bases") })
        {
            var path = RepositoryRoot.Combine(directory, definition.FileName);
            if (update)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, expected);
            }

            Assert.True(File.Exists(path), $"{path} is missing; run: {FixCommand}");
            var actual = File.ReadAllText(path);
            Assert.True(actual == expected, $"{path} differs from the CRD generated from the C# model; run: {FixCommand}\n{FirstDifference(expected, actual)}");
        }
    }

    [Fact]
    public void No_stray_crd_files_are_left_behind()
    {
        var expected = CrdCatalog.All.Select(d => d.FileName).Order(StringComparer.Ordinal).ToArray();
        foreach (var directory in new[] { "crds", Path.Combine("config", "crd", "bases") })
        {
            var present = Directory.GetFiles(RepositoryRoot.Combine(directory), "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(expected, present);
        }
    }

    private static string FirstDifference(string expected, string actual)
    {
        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        for (var i = 0; i < Math.Max(expectedLines.Length, actualLines.Length); i++)
        {
            var e = i < expectedLines.Length ? expectedLines[i] : "<end of file>";
            var a = i < actualLines.Length ? actualLines[i] : "<end of file>";
            if (e != a)
            {
                return $"first difference at line {i + 1}:\n  generated: {e}\n  committed: {a}";
            }
        }

        return "files differ only in line endings";
    }
}
