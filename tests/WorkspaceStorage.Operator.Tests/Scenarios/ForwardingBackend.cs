using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Tests.Scenarios;

/// <summary>Passes every call to the real backend; scenarios override the one call they interfere with.</summary>
internal class ForwardingBackend(IStorageBackend inner) : IStorageBackend
{
    public string Type => inner.Type;

    public S3Location Location => inner.Location;

    public virtual Task<EnsureOutcome> EnsureBucketAsync(CancellationToken cancellationToken) => inner.EnsureBucketAsync(cancellationToken);

    public virtual Task<EnsureOutcome> EnsureBucketCorsAsync(BucketCorsRule rule, CancellationToken cancellationToken) =>
        inner.EnsureBucketCorsAsync(rule, cancellationToken);

    public virtual Task<EnsureOutcome> RemoveBucketCorsAsync(string ruleId, CancellationToken cancellationToken) =>
        inner.RemoveBucketCorsAsync(ruleId, cancellationToken);

    public virtual Task<EnsureOutcome> EnsureIdentityAsync(WorkspaceId workspace, AccessLevel access, CancellationToken cancellationToken) =>
        inner.EnsureIdentityAsync(workspace, access, cancellationToken);

    public virtual Task<EnsureOutcome> EnsureKeyAsync(WorkspaceId workspace, AwsCredentials key, CancellationToken cancellationToken) =>
        inner.EnsureKeyAsync(workspace, key, cancellationToken);

    public virtual Task<IReadOnlyList<string>> ListKeysAsync(WorkspaceId workspace, CancellationToken cancellationToken) =>
        inner.ListKeysAsync(workspace, cancellationToken);

    public virtual Task<EnsureOutcome> RevokeKeyAsync(WorkspaceId workspace, string accessKeyId, CancellationToken cancellationToken) =>
        inner.RevokeKeyAsync(workspace, accessKeyId, cancellationToken);

    public virtual Task<TemporaryCredentials> IssueTemporaryCredentialsAsync(WorkspaceId workspace, AccessLevel access, TimeSpan lifetime,
        CancellationToken cancellationToken) => inner.IssueTemporaryCredentialsAsync(workspace, access, lifetime, cancellationToken);

    public virtual Task<EnsureOutcome> DeleteWorkspaceAsync(WorkspaceId workspace, DataDeletion data, CancellationToken cancellationToken) =>
        inner.DeleteWorkspaceAsync(workspace, data, cancellationToken);

    public virtual Task<BackendHealth> CheckHealthAsync(CancellationToken cancellationToken) => inner.CheckHealthAsync(cancellationToken);

    public virtual Task<Core.Model.UsageFigures> MeasureUsageAsync(WorkspaceId workspace, int maxPages, CancellationToken cancellationToken) =>
        inner.MeasureUsageAsync(workspace, maxPages, cancellationToken);
}

/// <summary>
/// Holds the first <see cref="IStorageBackend.EnsureIdentityAsync"/> call (a reconcile's first backend write) until
/// <see cref="Release"/>, so a scenario can act while that reconcile is in flight. Later calls pass at once.
/// </summary>
internal sealed class FirstIdentityPause
{
    private readonly TaskCompletionSource reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int calls;

    /// <summary>EnsureIdentity calls so far, the held one included.</summary>
    public int Calls => Volatile.Read(ref calls);

    /// <summary>Completes when the first call is being held.</summary>
    public Task Reached => reached.Task;

    public void Release() => released.TrySetResult();

    public IStorageBackend Wrap(IStorageBackend inner) => new Paused(inner, this);

    private sealed class Paused(IStorageBackend inner, FirstIdentityPause pause) : ForwardingBackend(inner)
    {
        public override async Task<EnsureOutcome> EnsureIdentityAsync(WorkspaceId workspace, AccessLevel access, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref pause.calls) == 1)
            {
                pause.reached.TrySetResult();
                await pause.released.Task.WaitAsync(cancellationToken);
            }

            return await base.EnsureIdentityAsync(workspace, access, cancellationToken);
        }
    }
}
