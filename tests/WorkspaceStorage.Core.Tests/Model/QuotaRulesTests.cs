using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Tests.Model;

public sealed class QuotaRulesTests
{
    [Theory]
    [InlineData("1000", 1000)]
    [InlineData("0", 0)]
    [InlineData("1Ki", 1024)]
    [InlineData("10Gi", 10L * 1024 * 1024 * 1024)]
    [InlineData("500M", 500_000_000)]
    [InlineData("1k", 1000)]
    [InlineData("1.5Ki", 1536)]
    [InlineData("0.1", 1)] // fractions of a byte round up
    [InlineData("7Ei", 7L << 60)]
    public void Sizes_parse_as_kubernetes_quantities(string text, long bytes)
    {
        Assert.True(QuotaRules.TryParseSize(text, out var parsed, out var rule), rule);
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10GB")]
    [InlineData("-1")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("Gi")]
    [InlineData("1e3")]
    [InlineData("8Ei")] // above long.MaxValue
    public void Bad_sizes_are_refused_with_the_rule(string text)
    {
        Assert.False(QuotaRules.TryParseSize(text, out _, out var rule));
        Assert.NotEmpty(rule);
    }

    [Fact]
    public void The_crd_pattern_and_the_parser_agree()
    {
        var pattern = new System.Text.RegularExpressions.Regex(QuotaRules.QuantityPattern);
        foreach (var text in new[] { "1000", "10Gi", "1.5Ki", "500M", "10GB", "-1", "1.", "Gi", "1e3" })
        {
            var parses = QuotaRules.TryParseSize(text, out _, out _);
            Assert.True(pattern.IsMatch(text) == parses, $"'{text}': pattern {pattern.IsMatch(text)}, parser {parses}");
        }
    }

    [Fact]
    public void The_request_wins_then_the_default_then_the_ceiling()
    {
        var backend = new BackendQuota(new QuotaLimits(1000, null), new QuotaLimits(5000, 50));

        Assert.Equal(new QuotaLimits(2000, 50), QuotaRules.Effective(new QuotaLimits(2000, null), backend, "ceph").Value);
        Assert.Equal(new QuotaLimits(1000, 50), QuotaRules.Effective(QuotaLimits.None, backend, "ceph").Value);
        Assert.Equal(new QuotaLimits(5000, 10), QuotaRules.Effective(new QuotaLimits(5000, 10), backend, "ceph").Value);
        Assert.Equal(QuotaLimits.None, QuotaRules.Effective(QuotaLimits.None, BackendQuota.None, "ceph").Value);
    }

    [Fact]
    public void Asking_above_the_ceiling_is_refused_naming_the_field_and_the_rule()
    {
        var backend = new BackendQuota(QuotaLimits.None, new QuotaLimits(10L << 30, 100));

        var result = QuotaRules.Effective(new QuotaLimits(20L << 30, 101), backend, "ceph");

        Assert.False(result.IsValid);
        Assert.Equal(["spec.quota.maxSize", "spec.quota.maxObjects"], result.Errors.Select(e => e.Field));
        Assert.Contains("ceiling of StorageBackend 'ceph'", result.Message, StringComparison.Ordinal);
        Assert.Contains("spec.quota.ceiling.maxSize 10Gi; asked for 20Gi", result.Message, StringComparison.Ordinal);
        Assert.Contains("only the backend's admin can raise it", result.Message, StringComparison.Ordinal);
        // At the ceiling exactly is allowed.
        Assert.True(QuotaRules.Effective(new QuotaLimits(10L << 30, 100), backend, "ceph").IsValid);
    }

    [Fact]
    public void A_backend_default_above_its_ceiling_is_an_error_of_the_backend()
    {
        var errors = new List<FieldError>();
        QuotaRules.BackendQuotaOf(new BackendQuotaSpec
        {
            Default = new QuotaSpec { MaxSize = "2Gi", MaxObjects = 11 },
            Ceiling = new QuotaSpec { MaxSize = "1Gi", MaxObjects = 10 },
        }, errors);

        Assert.Equal(["spec.quota.default.maxSize", "spec.quota.default.maxObjects"], errors.Select(e => e.Field));
    }

    [Fact]
    public void The_validators_carry_the_quota_and_refuse_a_bad_one()
    {
        var ok = WorkspaceStorageValidator.Validate("ws-a", new WorkspaceStorageSpec { Quota = new QuotaSpec { MaxSize = "1Ki", MaxObjects = 3 } }, hasDefaultBackend: true);
        Assert.Equal(new QuotaLimits(1024, 3), ok.Value!.Quota);

        var bad = WorkspaceStorageValidator.Validate("ws-a", new WorkspaceStorageSpec { Quota = new QuotaSpec { MaxSize = "lots", MaxObjects = -1 } }, hasDefaultBackend: true);
        Assert.False(bad.IsValid);
        Assert.Equal(["spec.quota.maxSize", "spec.quota.maxObjects"], bad.Errors.Select(e => e.Field));
    }

    [Theory]
    [InlineData(999, 0, false)]
    [InlineData(1000, 0, true)] // at the size limit: one more byte would go over
    [InlineData(9000, 0, true)]
    [InlineData(0, 9, false)]
    [InlineData(0, 10, true)]
    public void A_read_write_workspace_at_its_quota_keeps_read_and_delete_only(long bytes, long objects, bool reached)
    {
        var limits = new QuotaLimits(1000, 10);
        var usage = new UsageFigures(bytes, objects, Complete: true);

        Assert.Equal(reached, QuotaRules.IsReached(usage, limits));
        Assert.Equal(reached ? AccessLevel.ReadDelete : AccessLevel.ReadWrite, QuotaRules.AccessWithin(usage, limits, AccessLevel.ReadWrite));
        // Read-only stays read-only (never widened to delete); no quota or unknown usage changes nothing.
        Assert.Equal(AccessLevel.ReadOnly, QuotaRules.AccessWithin(usage, limits, AccessLevel.ReadOnly));
        Assert.Equal(AccessLevel.ReadWrite, QuotaRules.AccessWithin(usage, QuotaLimits.None, AccessLevel.ReadWrite));
        Assert.Equal(AccessLevel.ReadWrite, QuotaRules.AccessWithin(null, limits, AccessLevel.ReadWrite));
    }

    [Fact]
    public void An_upload_is_refused_when_its_declared_length_would_exceed_the_quota()
    {
        var limits = new QuotaLimits(1000, 10);

        Assert.Null(QuotaRules.UploadRefusal(new UsageFigures(500, 3, true), limits, 500));
        Assert.Contains("would exceed its quota of 1000 bytes", QuotaRules.UploadRefusal(new UsageFigures(500, 3, true), limits, 501), StringComparison.Ordinal);
        Assert.Contains("holds 10 objects and its quota allows 10", QuotaRules.UploadRefusal(new UsageFigures(0, 10, true), limits, 1), StringComparison.Ordinal);
        Assert.Null(QuotaRules.UploadRefusal(null, limits, 1 << 20));
        Assert.Null(QuotaRules.UploadRefusal(new UsageFigures(1 << 20, 1000, true), QuotaLimits.None, 1 << 20));
    }

    [Fact]
    public void Usage_is_described_against_its_limits()
    {
        Assert.Equal("9000 of 1000 bytes, 3 objects (no object limit)", QuotaRules.Describe(new UsageFigures(9000, 3, true), new QuotaLimits(1000, null)));
        Assert.EndsWith("(at least: the listing was capped)", QuotaRules.Describe(new UsageFigures(1, 10000, false), new QuotaLimits(null, 5)), StringComparison.Ordinal);
        Assert.Equal("10Gi", QuotaRules.FormatSize(10L << 30));
        Assert.Equal("1000", QuotaRules.FormatSize(1000));
    }
}
