using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Resources.Tests;

public sealed class WorkspaceStorageValidatorTests
{
    private static WorkspaceStorageResource Resource(string name, WorkspaceStorageSpec? spec = null) =>
        new() { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "team-a" }, Spec = spec ?? new WorkspaceStorageSpec() };

    private static IReadOnlyList<FieldError> Errors(WorkspaceStorageResource resource, bool hasDefaultBackend = true)
    {
        var result = resource.Validate(hasDefaultBackend);
        Assert.False(result.IsValid);
        Assert.Null(result.Value);
        return result.Errors;
    }

    [Fact]
    public void Minimal_resource_resolves_every_default()
    {
        var result = ResourceModel.Validate(Resource("ws-alpha"), hasDefaultBackend: true);

        Assert.True(result.IsValid);
        var resolved = result.Value!;
        Assert.Equal("ws-alpha", resolved.Workspace.Value);
        Assert.Equal("ws-alpha-s3", resolved.SecretName);
        Assert.Null(resolved.BackendName); // the default backend
        Assert.Equal(AccessLevel.ReadWrite, resolved.Access);
        Assert.Equal(DeletionPolicy.Retain, resolved.DeletionPolicy);
        Assert.Equal(new HashSet<SecretKeySet> { SecretKeySet.Aws, SecretKeySet.S3, SecretKeySet.Cosi, SecretKeySet.Hypha }, resolved.KeySets);
        Assert.Null(resolved.RotationInterval);
        Assert.Equal(TimeSpan.FromMinutes(10), resolved.RotationGracePeriod);
        Assert.Null(resolved.ExistingSecret);
    }

    [Fact]
    public void Explicit_workspace_with_a_pipe_is_kept_verbatim()
    {
        var result = ResourceModel.Validate(
            Resource("alice-home", new WorkspaceStorageSpec
            {
                Workspace = "ws-user-github|12345",
                BackendRef = new BackendReference { Name = "ceph" },
                Access = WorkspaceAccess.ReadOnly,
                Secret = new SecretSpec { Name = "alice-creds", KeySets = [SecretKeySet.Aws] },
                Credentials = new CredentialsSpec { RotationInterval = "720h", RotationGracePeriod = "1h" },
                DeletionPolicy = DeletionPolicy.Delete,
            }),
            hasDefaultBackend: false);

        var resolved = Assert.IsType<ValidatedWorkspaceStorage>(result.Value);
        Assert.Equal("ws-user-github|12345/", resolved.Workspace.Prefix);
        Assert.Equal("ceph", resolved.BackendName);
        Assert.Equal(AccessLevel.ReadOnly, resolved.Access);
        Assert.Equal("alice-creds", resolved.SecretName);
        Assert.Equal([SecretKeySet.Aws], resolved.KeySets);
        Assert.Equal(TimeSpan.FromHours(720), resolved.RotationInterval);
        Assert.Equal(TimeSpan.FromHours(1), resolved.RotationGracePeriod);
        Assert.Equal(DeletionPolicy.Delete, resolved.DeletionPolicy);
    }

    [Theory]
    [InlineData("ws/../other", "may contain only")]
    [InlineData("WS-UPPER", "may contain only")]
    [InlineData("ws.dot", "may contain only")]
    [InlineData("etc", "must contain a hyphen")]
    [InlineData("", "must not be empty")]
    public void Workspace_that_could_escape_or_alias_a_prefix_is_refused_naming_the_field(string workspace, string rule)
    {
        var error = Assert.Single(Errors(Resource("ok-name", new WorkspaceStorageSpec { Workspace = workspace })));
        Assert.Equal("spec.workspace", error.Field);
        Assert.Contains(rule, error.Rule, StringComparison.Ordinal);
        Assert.StartsWith("spec.workspace: ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Too_long_workspace_is_refused()
    {
        var error = Assert.Single(Errors(Resource("ok-name", new WorkspaceStorageSpec { Workspace = "ws-" + new string('a', 126) })));
        Assert.Contains("at most 128", error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Name_used_as_workspace_must_be_a_valid_workspace_id()
    {
        var error = Assert.Single(Errors(Resource("storage")));
        Assert.Equal("spec.workspace", error.Field);
        Assert.Contains("metadata.name 'storage'", error.Rule, StringComparison.Ordinal);
        Assert.Contains("hyphen", error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Name_with_dots_is_a_valid_object_name_but_not_a_workspace()
    {
        var error = Assert.Single(Errors(Resource("ws.a-b")));
        Assert.Contains("may contain only", error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void BackendRef_is_required_without_a_default_backend()
    {
        var error = Assert.Single(Errors(Resource("ws-a"), hasDefaultBackend: false));
        Assert.Equal("spec.backendRef", error.Field);
        Assert.Contains("default backend", error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void BackendRef_name_must_be_an_object_name()
    {
        var error = Assert.Single(Errors(Resource("ws-a", new WorkspaceStorageSpec { BackendRef = new BackendReference { Name = "Bad_Name" } })));
        Assert.Equal("spec.backendRef.name", error.Field);
    }

    [Fact]
    public void Secret_name_and_key_sets_are_checked()
    {
        var errors = Errors(Resource("ws-a", new WorkspaceStorageSpec
        {
            Secret = new SecretSpec { Name = "UPPER", KeySets = [SecretKeySet.Aws, SecretKeySet.Aws] },
        }));
        Assert.Contains(errors, e => e.Field == "spec.secret.name" && e.Rule.Contains("DNS-1123", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Field == "spec.secret.keySets" && e.Rule.Contains("'aws' twice", StringComparison.Ordinal));
    }

    [Fact]
    public void Empty_key_sets_are_refused()
    {
        var error = Assert.Single(Errors(Resource("ws-a", new WorkspaceStorageSpec { Secret = new SecretSpec { KeySets = [] } })));
        Assert.Equal("spec.secret.keySets", error.Field);
    }

    [Fact]
    public void Default_secret_name_that_would_be_too_long_is_reported_as_the_default()
    {
        var name = "ws-" + new string('a', 250);
        var errors = Errors(Resource(name, new WorkspaceStorageSpec { Workspace = "ws-a" }));
        var error = Assert.Single(errors);
        Assert.StartsWith("spec.secret.name (default", error.Field, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("30d", null, "spec.credentials.rotationInterval", "unknown unit 'd'")]
    [InlineData("1m", null, "spec.credentials.rotationInterval", "at least 5m0s")]
    [InlineData("1h", "2h", "spec.credentials.rotationGracePeriod", "shorter than rotationInterval")]
    [InlineData(null, "-1m", "spec.credentials.rotationGracePeriod", "must not be negative")]
    [InlineData(null, "soon", "spec.credentials.rotationGracePeriod", "expected a number at 'soon'")]
    public void Rotation_durations_are_checked(string? interval, string? grace, string field, string rule)
    {
        var credentials = new CredentialsSpec { RotationInterval = interval };
        if (grace is not null)
        {
            credentials = credentials with { RotationGracePeriod = grace };
        }

        var error = Assert.Single(Errors(Resource("ws-a", new WorkspaceStorageSpec { Credentials = credentials })));
        Assert.Equal(field, error.Field);
        Assert.Contains(rule, error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Existing_secret_cannot_be_rotated_nor_be_the_output_secret()
    {
        var errors = Errors(Resource("ws-a", new WorkspaceStorageSpec
        {
            Credentials = new CredentialsSpec
            {
                RotationInterval = "720h",
                ExistingSecretRef = new ExistingSecretReference { Name = "ws-a-s3", AccessKeyIdKey = "bad key" },
            },
        }));

        Assert.Contains(errors, e => e.Field == "spec.credentials.existingSecretRef" && e.Rule.Contains("rotationInterval", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Field == "spec.credentials.existingSecretRef.name" && e.Rule.Contains("must differ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Field == "spec.credentials.existingSecretRef.accessKeyIdKey");
    }

    [Fact]
    public void Existing_secret_resolves_with_default_keys()
    {
        var result = ResourceModel.Validate(
            Resource("ws-a", new WorkspaceStorageSpec { Credentials = new CredentialsSpec { ExistingSecretRef = new ExistingSecretReference { Name = "my-keys" } } }),
            hasDefaultBackend: true);

        var existing = result.Value!.ExistingSecret!;
        Assert.Equal(("my-keys", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), (existing.Name, existing.AccessKeyIdKey, existing.SecretAccessKeyKey));
    }

    [Fact]
    public void Unknown_enum_values_from_a_lax_api_server_are_refused()
    {
        var errors = Errors(Resource("ws-a", new WorkspaceStorageSpec { Access = (WorkspaceAccess)7, DeletionPolicy = (DeletionPolicy)9 }));
        Assert.Contains(errors, e => e.Field == "spec.access");
        Assert.Contains(errors, e => e.Field == "spec.deletionPolicy");
    }

    [Fact]
    public void Every_error_is_reported_at_once_and_joined_in_the_message()
    {
        var result = ResourceModel.Validate(
            Resource("ws-a", new WorkspaceStorageSpec { Workspace = "etc", Credentials = new CredentialsSpec { RotationInterval = "x" } }),
            hasDefaultBackend: false);

        Assert.Equal(3, result.Errors.Count);
        Assert.Contains("spec.workspace: ", result.Message, StringComparison.Ordinal);
        Assert.Contains("; spec.backendRef: ", result.Message, StringComparison.Ordinal);
    }
}
