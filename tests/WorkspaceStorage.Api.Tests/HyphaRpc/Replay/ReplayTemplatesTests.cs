namespace WorkspaceStorage.Api.Tests.HyphaRpc.Replay;

/// <summary>The replay's comparison and templating on their own: what makes the replay tier fail, and what must not.</summary>
public sealed class ReplayTemplatesTests
{
    private static readonly RecordedFrame Frame = new(7, 100, 2, "c2s", "binary", null, null, null, null, null);

    [Fact]
    public void A_client_value_binds_on_first_sight_then_must_hold_everywhere_even_inside_longer_strings()
    {
        var templates = NewTemplates();
        Assert.Empty(Compare(templates, "public/wso-s3-storage-20466372", "public/wso-s3-storage-0a1b2c3d"));
        Assert.Empty(Compare(templates, "public/wso-s3-storage-20466372:built-in", "public/wso-s3-storage-0a1b2c3d:built-in"));

        var drifted = Assert.Single(Compare(templates, "public/wso-s3-storage-20466372:s3-storage", "public/wso-s3-storage-ffffffff:s3-storage"));
        Assert.Contains("is bound to wso-s3-storage-0a1b2c3d", drifted.Sent, StringComparison.Ordinal);

        // Server frames carry the bound value in the recorded one's place.
        Assert.Equal("public/wso-s3-storage-0a1b2c3d", Send(templates, "public/wso-s3-storage-20466372"));
    }

    [Fact]
    public void Two_recorded_values_cannot_stand_for_one_sent_value_and_a_server_frame_cannot_name_an_unseen_one()
    {
        var templates = NewTemplates();
        Assert.Empty(Compare(templates, "928aaf6098d59391e412eb9b", "0123456789abcdef01234567"));
        var reused = Assert.Single(Compare(templates, "f793de534ad6ca62317d67b6", "0123456789abcdef01234567"));
        Assert.Contains("needs a value of its own", reused.Sent, StringComparison.Ordinal);

        Assert.Equal("0123456789abcdef01234567.heartbeat", Send(templates, "928aaf6098d59391e412eb9b.heartbeat"));
        Assert.Throws<ReplayException>(() => Send(templates, "c9c48de9ce815cfebbea1d97.resolve"));
    }

    [Fact]
    public void Maps_compare_by_key_arrays_in_order_numbers_by_value_and_msgpack_type()
    {
        var templates = NewTemplates();
        Assert.Empty(Compare(templates, Map(("a", 1L), ("b", "x")), Map(("b", "x"), ("a", 1L))));

        var differences = Compare(templates,
            Map(("t", 15.0), ("args", new List<object?> { "a", "b" }), ("gone", null)),
            Map(("t", 15L), ("args", new List<object?> { "b", "a" }), ("new", true)));
        Assert.Equal(["$.t", "$.args[0]", "$.args[1]", "$.gone", "$.new"], differences.Select(d => d.Path));
        Assert.Contains("msgpack int", differences[0].Sent, StringComparison.Ordinal);
        Assert.Equal("(absent)", differences[3].Sent);
        Assert.Equal("(absent)", differences[4].Recorded);
    }

    [Fact]
    public void Recorded_numbers_keep_Pythons_int_float_distinction_and_msgpack_round_trips_it()
    {
        var recorded = PlainValues.FromJson("""{"t": 15.0, "expires_in": 86400, "big": 18446744073709551615}""");
        var map = Assert.IsType<Dictionary<string, object?>>(recorded);
        Assert.IsType<double>(map["t"]);
        Assert.IsType<long>(map["expires_in"]);
        Assert.IsType<ulong>(map["big"]);

        var frame = PlainValues.DecodeFrame(PlainValues.EncodeFrame(map, null));
        Assert.Empty(Compare(NewTemplates(), recorded, frame["main"]));
        Assert.Null(frame["extra"]);
    }

    [Fact]
    public void A_redacted_token_must_be_the_one_this_run_chose_and_is_never_shown()
    {
        var server = new ServerValues(WorkspaceStorage.Testing.Hypha.HyphaTokenFactory.NewSecret(), TimeSpan.FromDays(1));
        var templates = new ReplayTemplates(server);
        var handshake = Frame with { Kind = "text", Json = Map(("token", "<token>"), ("workspace", null)) };
        var differences = new List<FieldDifference>();
        templates.Compare(handshake, handshake.Json, Map(("token", server.RootToken), ("workspace", null)), "$", differences);
        Assert.Empty(differences);

        templates.Compare(handshake, handshake.Json, Map(("token", server.PublicToken), ("workspace", null)), "$", differences);
        var wrong = Assert.Single(differences);
        Assert.Contains("root token", wrong.Recorded, StringComparison.Ordinal);
        Assert.DoesNotContain(server.PublicToken, wrong.Sent, StringComparison.Ordinal);
    }

    [Fact]
    public void An_intended_change_explains_exactly_its_field_on_its_frame_and_nothing_else()
    {
        var change = new IntendedChange(7, "$.config.require_context", "false", "the companion stopped asking for context");
        var met = new HashSet<IntendedChange>();
        var differences = Compare(NewTemplates(), Map(("config", Map(("require_context", true), ("visibility", "public")))),
            Map(("config", Map(("require_context", false), ("visibility", "protected")))));
        IntendedChange.Explain([change], Frame.Line, differences, met);
        Assert.Equal(["$.config.visibility"], differences.Select(d => d.Path));
        Assert.Equal([change], met);

        // On another frame, or with another value sent, the same difference still fails.
        var elsewhere = Compare(NewTemplates(), Map(("config", Map(("require_context", true)))), Map(("config", Map(("require_context", false)))));
        IntendedChange.Explain([change with { Line = 8 }, change with { SentNow = "null" }], Frame.Line, elsewhere, met);
        Assert.Single(elsewhere);
    }

    private static ReplayTemplates NewTemplates() => new(new ServerValues(WorkspaceStorage.Testing.Hypha.HyphaTokenFactory.NewSecret(), TimeSpan.FromDays(1)));

    private static List<FieldDifference> Compare(ReplayTemplates templates, object? recorded, object? sent)
    {
        var differences = new List<FieldDifference>();
        templates.Compare(Frame, recorded, sent, "$", differences);
        return differences;
    }

    private static string Send(ReplayTemplates templates, string recorded) =>
        (string)templates.ForSending(Frame with { Direction = "s2c" }, recorded)!;

    private static Dictionary<string, object?> Map(params (string Key, object? Value)[] entries) =>
        entries.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
}
