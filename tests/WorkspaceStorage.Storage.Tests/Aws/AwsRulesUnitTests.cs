using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Resilience;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Aws;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Iam;
using S3Location = WorkspaceStorage.Storage.Backends.S3Location;

namespace WorkspaceStorage.Storage.Tests.Aws;

/// <summary>AWS's rules that need a scripted server (throttling, a new key refused for a while) or none at all.</summary>
public sealed class AwsRulesUnitTests
{
    private static readonly AwsCredentials Admin = new("AKIAADMINEXAMPLE0001", "admin-secret-never-shown-0000000000000000");
    private static readonly ExponentialBackoff Quick = new(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("Throttling")]
    [InlineData("ThrottlingException")]
    public async Task IAM_throttling_is_retried_with_backoff_until_IAM_answers(string code)
    {
        using var server = new ScriptedServer(Error(400, code), Error(400, code), Ok("<GetUserResponse><GetUserResult><User><UserName>u</UserName><Path>/hypha-workspaces/</Path><Arn>arn:aws:iam::1:user/hypha-workspaces/u</Arn></User></GetUserResult></GetUserResponse>"));
        var counter = new BackendCallCounter();
        var iam = new IamClient(server.Connection(counter, new RetryOptions { MaxAttempts = 4, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(2) }));

        var user = await iam.GetUserAsync("u", Ct);

        Assert.Equal("/hypha-workspaces/", user!.Path);
        Assert.Equal(3, server.Requests);
        Assert.Equal([code, code, null], counter.Calls.Select(c => c.Error));
    }

    [Fact]
    public async Task IAM_throttling_that_outlasts_the_attempts_is_a_transient_failure_the_reconcile_retries_later()
    {
        using var server = new ScriptedServer(Error(400, "Throttling"), Error(400, "Throttling"));
        var iam = new IamClient(server.Connection(new BackendCallCounter(), new RetryOptions { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(2) }));

        var error = await Assert.ThrowsAsync<BackendUnavailableException>(() => iam.GetUserAsync("u", Ct));

        Assert.True(error.IsTransient);
        Assert.Equal("Throttling", error.ErrorCode);
    }

    [Fact]
    public async Task A_new_key_refused_as_unknown_is_checked_again_until_STS_accepts_it()
    {
        using var server = new ScriptedServer(Error(403, "InvalidClientTokenId"), Error(403, "InvalidClientTokenId"), Ok(CallerIdentity));
        var sts = new StsClient(server.Connection(new BackendCallCounter(), new RetryOptions { MaxAttempts = 1 }));

        Assert.True(await AwsKeyPropagation.WaitUntilAcceptedAsync(sts, Quick, TimeSpan.FromSeconds(10), TimeProvider.System, NullLogger.Instance, Ct));
        Assert.Equal(3, server.Requests);
    }

    [Fact]
    public async Task A_new_key_still_refused_when_the_bound_passes_is_handed_out_after_a_bounded_number_of_checks()
    {
        using var server = new ScriptedServer(Enumerable.Repeat(Error(403, "InvalidClientTokenId"), 1000).ToArray());
        var sts = new StsClient(server.Connection(new BackendCallCounter(), new RetryOptions { MaxAttempts = 1 }));
        var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(20), jitter: 0);

        Assert.False(await AwsKeyPropagation.WaitUntilAcceptedAsync(sts, backoff, TimeSpan.FromMilliseconds(100), TimeProvider.System, NullLogger.Instance, Ct));
        Assert.InRange(server.Requests, 2, 6);
    }

    [Fact]
    public async Task Any_other_refusal_of_a_new_key_is_not_retried()
    {
        using var server = new ScriptedServer(Error(403, "SignatureDoesNotMatch"), Ok(CallerIdentity));
        var sts = new StsClient(server.Connection(new BackendCallCounter(), new RetryOptions { MaxAttempts = 1 }));

        var error = await Assert.ThrowsAsync<BackendAuthenticationException>(() =>
            AwsKeyPropagation.WaitUntilAcceptedAsync(sts, Quick, TimeSpan.FromSeconds(10), TimeProvider.System, NullLogger.Instance, Ct));
        Assert.Equal("SignatureDoesNotMatch", error.ErrorCode);
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public void The_longest_workspace_id_in_the_longest_bucket_name_stays_within_AWSs_inline_policy_limit()
    {
        var longest = WorkspaceId.Parse("ws-" + new string('w', WorkspaceId.MaxLength - 3));
        var policy = WorkspacePolicyBuilder.Build(new string('b', 63), longest, AccessLevel.ReadWrite);

        Assert.InRange(policy.Length, 1, IamLimits.MaxPolicyLength);
        IamLimits.CheckPolicyLength(policy); // no throw
    }

    [Fact]
    public void A_policy_over_AWSs_limit_is_a_clear_permanent_error_before_any_call()
    {
        var tooLong = "{\"Statement\":\"" + new string('x', IamLimits.MaxPolicyLength) + "\"}";

        var error = Assert.Throws<BackendValidationException>(() => IamLimits.CheckPolicyLength(tooLong));

        Assert.Equal("workspace", error.Field);
        Assert.Contains("2048", error.Message, StringComparison.Ordinal);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public void Only_the_operators_own_principal_is_trusted_whether_it_is_a_user_or_a_role_session()
    {
        var user = AwsStorageBackend.TrustPolicy("arn:aws:iam::123456789012:user/ops/wso-operator");
        Assert.Contains("\"AWS\":\"arn:aws:iam::123456789012:user/ops/wso-operator\"", user, StringComparison.Ordinal);
        Assert.DoesNotContain(":root", user, StringComparison.Ordinal);

        var session = AwsStorageBackend.TrustPolicy("arn:aws:sts::123456789012:assumed-role/wso-operator/botocore-session-1");
        Assert.Contains("\"AWS\":\"arn:aws:iam::123456789012:root\"", session, StringComparison.Ordinal);
        Assert.Contains("\"arn:aws:iam::123456789012:role/wso-operator\",\"arn:aws:iam::123456789012:role/*/wso-operator\"", session, StringComparison.Ordinal);
        Assert.True(PolicyJson.Equivalent(session, session));

        var error = Assert.Throws<BackendConfigurationException>(() => AwsStorageBackend.TrustPolicy("arn:aws:iam::123456789012:root"));
        Assert.Equal("adminCredentialsSecretRef", error.Field);
    }

    [Fact]
    public void A_policy_AWS_hands_back_reformatted_is_no_drift_but_a_changed_action_is()
    {
        const string wanted = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/w/*"]}]}""";
        const string reformatted = """{ "Statement": [ { "Resource": "arn:aws:s3:::b/w/*", "Action": "s3:GetObject", "Effect": "Allow" } ], "Version": "2012-10-17" }""";
        const string widened = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::b/w/*"]}]}""";

        Assert.True(PolicyJson.Equivalent(reformatted, wanted));
        Assert.False(PolicyJson.Equivalent(widened, wanted));
        Assert.False(PolicyJson.Equivalent(null, wanted));
        Assert.False(PolicyJson.Equivalent("not json", wanted));
    }

    [Fact]
    public void On_AWS_IAM_is_global_and_STS_regional_while_moto_serves_both_on_its_S3_endpoint()
    {
        var aws = AwsEndpoints.For(new AwsBackendOptions(new S3Location(new Uri("https://s3.eu-west-1.amazonaws.com"), new Uri("https://s3.eu-west-1.amazonaws.com"), "eu-west-1", "b"), Admin));
        Assert.Equal((new Uri("https://iam.amazonaws.com"), "us-east-1", new Uri("https://sts.eu-west-1.amazonaws.com"), "eu-west-1"), (aws.Iam, aws.IamRegion, aws.Sts, aws.StsRegion));

        var moto = AwsEndpoints.For(new AwsBackendOptions(new S3Location(new Uri("http://127.0.0.1:7690"), new Uri("http://127.0.0.1:7690"), "us-east-1", "b"), Admin));
        Assert.Equal((new Uri("http://127.0.0.1:7690"), new Uri("http://127.0.0.1:7690")), (moto.Iam, moto.Sts));
    }

    [Fact]
    public void The_options_print_no_secret()
    {
        var options = new AwsBackendOptions(new S3Location(new Uri("http://127.0.0.1:1"), new Uri("http://127.0.0.1:1"), "us-east-1", "b"), Admin);
        Assert.DoesNotContain(Admin.SecretAccessKey, options.ToString(), StringComparison.Ordinal);
    }

    private const string CallerIdentity =
        "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::1:user/hypha-workspaces/u</Arn><Account>1</Account></GetCallerIdentityResult></GetCallerIdentityResponse>";

    private static (int Status, string Body) Error(int status, string code) =>
        (status, $"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>scripted</Message></Error></ErrorResponse>");

    private static (int Status, string Body) Ok(string body) => (200, body);

    /// <summary>Answers requests with the scripted responses in order, counting them (no network).</summary>
    private sealed class ScriptedServer(params (int Status, string Body)[] script) : HttpMessageHandler
    {
        private int next;

        public int Requests => next;

        public QueryApiConnection Connection(IBackendCallObserver observer, RetryOptions retry)
        {
            var http = new HttpClient(this, disposeHandler: false);
            var sender = new SignedHttpSender(http, new SigV4Signer(), retry, observer, AwsStorageBackend.BackendType);
            return new QueryApiConnection(AwsStorageBackend.BackendType, new Uri("http://iam.test"), "us-east-1", Admin, sender, "test");
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var (status, body) = script[Math.Min(Interlocked.Increment(ref next) - 1, script.Length - 1)];
            return Task.FromResult(new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent(body, Encoding.UTF8, "text/xml") });
        }
    }
}
