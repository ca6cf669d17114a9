using Microsoft.Extensions.Primitives;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Tests.Auth;

/// <summary>Scope parsing, the permission order, and who may do what on public and private workspaces.</summary>
public sealed class PermissionModelTests
{
    private static readonly WorkspaceId Workspace = WorkspaceId.Parse("ws-data");

    [Fact]
    public void Permissions_are_ordered_r_rw_a()
    {
        Assert.True(Permission.Admin.Satisfies(Permission.ReadWrite));
        Assert.True(Permission.ReadWrite.Satisfies(Permission.Read));
        Assert.True(Permission.Read.Satisfies(Permission.Read));
        Assert.False(Permission.Read.Satisfies(Permission.ReadWrite));
        Assert.False(Permission.ReadWrite.Satisfies(Permission.Admin));
        Assert.False(Permission.None.Satisfies(Permission.Read));
        Assert.Equal(["r", "rw", "a"], new[] { Permission.Read, Permission.ReadWrite, Permission.Admin }.Select(p => p.ToCode()));
    }

    [Fact]
    public void Scope_grants_wid_and_cid_are_read_and_unknown_entries_ignored()
    {
        Assert.True(WorkspaceScope.TryParse("  ws:ws-data#rw  wid:ws-data cid:client-9 openid profile ws-x:y#z ", out var scope, out _));

        Assert.Equal(Permission.ReadWrite, scope.PermissionFor("ws-data"));
        Assert.Equal(Permission.None, scope.PermissionFor("ws-dat"));
        Assert.Equal(Permission.None, scope.PermissionFor("ws-data2"));
        Assert.Equal("ws-data", scope.CurrentWorkspace);
        Assert.Equal("client-9", scope.ClientId);
    }

    [Fact]
    public void Current_workspace_alone_grants_nothing()
    {
        Assert.True(WorkspaceScope.TryParse("wid:ws-data cid:c", out var scope, out _));
        Assert.Equal(Permission.None, scope.PermissionFor("ws-data"));
    }

    [Fact]
    public void Wildcard_admin_is_admin_everywhere_and_never_lowers_a_grant()
    {
        Assert.True(WorkspaceScope.TryParse("ws:*#a", out var admin, out _));
        Assert.Equal(Permission.Admin, admin.PermissionFor("any-workspace"));

        Assert.True(WorkspaceScope.TryParse("ws:*#r ws:ws-data#a", out var mixed, out _));
        Assert.Equal(Permission.Admin, mixed.PermissionFor("ws-data"));
        Assert.Equal(Permission.Read, mixed.PermissionFor("ws-other"));
    }

    [Fact]
    public void A_workspace_literally_named_star_cannot_be_addressed()
    {
        Assert.True(WorkspaceScope.TryParse("ws:ws-data#r", out var scope, out _));
        Assert.Equal(Permission.None, scope.PermissionFor("*"));
    }

    [Fact]
    public void Builtin_workspaces_without_hyphen_are_grantable_and_pipes_are_kept()
    {
        Assert.True(WorkspaceScope.TryParse("ws:public#r ws:ws-user-github|42#a", out var scope, out _));
        Assert.Equal(Permission.Read, scope.PermissionFor("public"));
        Assert.Equal(Permission.Admin, scope.PermissionFor("ws-user-github|42"));
        Assert.Equal(Permission.None, scope.PermissionFor("ws-user-github"));
    }

    [Fact]
    public void Repeated_grant_keeps_the_last_like_Hypha()
    {
        Assert.True(WorkspaceScope.TryParse("ws:ws-data#a ws:ws-data#r", out var scope, out _));
        Assert.Equal(Permission.Read, scope.PermissionFor("ws-data"));
    }

    [Theory]
    [InlineData("ws:ws-data")]
    [InlineData("ws:ws-data#")]
    [InlineData("ws:ws-data#n")]
    [InlineData("ws:ws-data#w")]
    [InlineData("ws:#a")]
    [InlineData("ws:ws_data#r")]
    [InlineData("ws:ws.data#r")]
    [InlineData("ws:ws-data#a#a")]
    public void Malformed_grants_are_errors_that_do_not_echo_the_entry(string scope)
    {
        Assert.False(WorkspaceScope.TryParse(scope, out _, out var error));
        Assert.NotEmpty(error);
        Assert.DoesNotContain("ws-data", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlong_workspace_in_a_grant_is_malformed()
    {
        Assert.False(WorkspaceScope.TryParse($"ws:{new string('a', 129)}#r", out _, out _));
        Assert.True(WorkspaceScope.TryParse($"ws:{new string('a', 128)}#r", out _, out _));
    }

    [Fact]
    public void Anonymous_caller_reads_public_workspaces_only()
    {
        Assert.Equal(Permission.None, HyphaPrincipal.Anonymous.PermissionFor(Workspace, isPublic: false));
        Assert.Equal(Permission.Read, HyphaPrincipal.Anonymous.PermissionFor(Workspace, isPublic: true));
    }

    [Fact]
    public void Token_with_the_anonymous_role_reads_its_own_workspace_and_public_ones_and_never_writes()
    {
        // Hypha gives an anonymous user its own temporary workspace (granted rw in the token); storage there is read-only.
        Assert.True(WorkspaceScope.TryParse("ws:ws-data#rw", out var scope, out _));
        var anonymousUser = new HyphaPrincipal { UserId = "anon-1", Scope = scope, Roles = ["anonymous"] };
        var other = WorkspaceId.Parse("ws-other");

        Assert.True(anonymousUser.IsAnonymous);
        Assert.Equal(Permission.Read, anonymousUser.PermissionFor(Workspace, isPublic: false));
        Assert.Equal(Permission.None, anonymousUser.PermissionFor(other, isPublic: false));
        Assert.Equal(Permission.Read, anonymousUser.PermissionFor(other, isPublic: true));
        Assert.Equal(Permission.None, HyphaPrincipal.Anonymous.PermissionFor(Workspace, isPublic: false));
    }

    [Fact]
    public void Public_workspace_gives_signed_in_users_read_without_lowering_their_grant()
    {
        Assert.True(WorkspaceScope.TryParse("ws:ws-data#rw", out var scope, out _));
        var writer = new HyphaPrincipal { UserId = "u-1", Scope = scope };
        var stranger = new HyphaPrincipal { UserId = "u-2", Scope = WorkspaceScope.Empty };

        Assert.Equal(Permission.ReadWrite, writer.PermissionFor(Workspace, isPublic: true));
        Assert.Equal(Permission.Read, stranger.PermissionFor(Workspace, isPublic: true));
        Assert.Equal(Permission.None, stranger.PermissionFor(Workspace, isPublic: false));
    }

    [Fact]
    public void Principal_ToString_carries_no_token_material()
    {
        Assert.True(WorkspaceScope.TryParse("ws:ws-data#rw", out var scope, out _));
        var text = new HyphaPrincipal { UserId = "u-1", Scope = scope, Email = "a@b.c" }.ToString();
        Assert.DoesNotContain("eyJ", text, StringComparison.Ordinal);
    }
}

/// <summary>Where tokens are found: Bearer, then Basic (token as password), then the access_token cookie.</summary>
public sealed class TokenExtractorTests
{
    [Theory]
    [InlineData("Bearer abc.def.ghi", "abc.def.ghi")]
    [InlineData("bearer abc.def.ghi", "abc.def.ghi")]
    [InlineData("BEARER   abc.def.ghi  ", "abc.def.ghi")]
    public void Bearer_token_is_taken_from_the_header(string header, string token)
    {
        var extracted = TokenExtractor.Extract(new StringValues(header), cookie: "cookie.token.x");
        Assert.Equal(TokenSource.Bearer, extracted.Source);
        Assert.Equal(token, extracted.Token);
    }

    [Fact]
    public void Basic_credentials_carry_the_token_as_password()
    {
        var header = "Basic " + Convert.ToBase64String("someone:abc.def:ghi"u8.ToArray());
        var extracted = TokenExtractor.Extract(new StringValues(header), null);
        Assert.Equal(TokenSource.Basic, extracted.Source);
        Assert.Equal("abc.def:ghi", extracted.Token);
    }

    [Fact]
    public void Cookie_is_used_only_without_an_Authorization_header()
    {
        Assert.Equal(new ExtractedToken(TokenSource.Cookie, "c.t.x", null), TokenExtractor.Extract(StringValues.Empty, "c.t.x"));
        Assert.Equal(ExtractedToken.None, TokenExtractor.Extract(StringValues.Empty, ""));
        Assert.Equal(ExtractedToken.None, TokenExtractor.Extract(StringValues.Empty, null));
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer    ")]
    [InlineData("Bearer a b")]
    [InlineData("Token abc")]
    [InlineData("abc.def.ghi")]
    [InlineData("Basic")]
    [InlineData("Basic %%%")]
    [InlineData("Basic dXNlcg==")]
    [InlineData("Basic dXNlcjo=")]
    public void Unusable_Authorization_header_is_an_error_not_anonymous(string header)
    {
        var extracted = TokenExtractor.Extract(new StringValues(header), "valid.cookie.token");
        Assert.NotNull(extracted.Error);
        Assert.Null(extracted.Token);
    }

    [Fact]
    public void Two_Authorization_headers_are_an_error()
    {
        var extracted = TokenExtractor.Extract(new StringValues(["Bearer a.b.c", "Bearer d.e.f"]), null);
        Assert.NotNull(extracted.Error);
    }
}
