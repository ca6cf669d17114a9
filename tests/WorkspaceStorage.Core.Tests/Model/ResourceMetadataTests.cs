using System.Text.RegularExpressions;
using WorkspaceStorage.Core.Model;

namespace WorkspaceStorage.Core.Tests.Model;

public sealed class ResourceMetadataTests
{
    [Fact]
    public void Short_names_are_label_values_as_they_are()
    {
        Assert.Equal("ws-alpha", ResourceMetadata.OwnerLabelValue("ws-alpha"));
    }

    [Fact]
    public void Long_names_become_distinct_valid_label_values()
    {
        var a = ResourceMetadata.OwnerLabelValue(new string('a', 100) + "-x");
        var b = ResourceMetadata.OwnerLabelValue(new string('a', 100) + "-y");

        Assert.NotEqual(a, b);
        foreach (var value in new[] { a, b, ResourceMetadata.OwnerLabelValue(new string('a', 45) + "-.-.-.-.-.-.-.-.-.-.-.-.-.-.-.-.-.-.-.-") })
        {
            Assert.True(value.Length <= 63);
            Assert.Matches(new Regex("^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$"), value);
        }
    }

    [Fact]
    public void Secret_labels_mark_the_operator_and_the_owner()
    {
        var labels = ResourceMetadata.SecretLabels("ws-alpha");
        Assert.Equal("workspace-storage-operator", labels["app.kubernetes.io/managed-by"]);
        Assert.Equal("ws-alpha", labels["workspacestorage.hypha.amun.ai/workspacestorage"]);
    }
}
