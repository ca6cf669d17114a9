using k8s.Models;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Audit;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Audit;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Operator.BackendResolution;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>Timings of <see cref="WorkspaceStorageReconciler"/>.</summary>
public sealed record WorkspaceStorageReconcilerOptions
{
    /// <summary>When a configuration error (missing backend, missing Secret) stalls an object, look again after this
    /// long even without an event (changes to StorageBackends re-enqueue their users sooner).</summary>
    public TimeSpan ConfigurationRetryDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Retry after the backend refused the admin credentials.</summary>
    public TimeSpan AuthenticationRetryDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Attempts of a status write that meets 409 Conflict (re-reading in between).</summary>
    public int StatusWriteAttempts { get; init; } = 4;

    /// <summary>How often and how far each workspace's usage is measured (--usage-period, --usage-max-pages).</summary>
    public UsageReaderOptions Usage { get; init; } = new();
}

/// <summary>
/// Brings a WorkspaceStorage's world in line with its spec: validate, finalizer, claim, backend identity, keys
/// (<see cref="WorkspaceKeys"/>), status and events; on deletion, <see cref="WorkspaceFinalizer"/>. A converged
/// object costs reads only: no Kubernetes write, no backend write.
/// </summary>
public sealed class WorkspaceStorageReconciler : IReconciler<WorkspaceStorageResource>
{
    /// <summary>A little past a due instant, since times are kept to whole seconds.</summary>
    private static readonly TimeSpan MinimumRequeue = TimeSpan.FromMilliseconds(200);

    private readonly IResourceClient<WorkspaceStorageResource> storages;
    private readonly IStorageBackendResolver resolver;
    private readonly IEventRecorder events;
    private readonly WorkspaceStorageReconcilerOptions options;
    private readonly TimeProvider clock;
    private readonly WorkspaceClaims claims;
    private readonly CredentialSecretWriter secrets;
    private readonly WorkspaceKeys keys;
    private readonly WorkspaceStatusReporter status;
    private readonly WorkspaceFinalizer finalizer;
    private readonly ClaimAdmission admission;
    private readonly IAuditTrail audit;
    private readonly WorkspaceUsageReader usage;

    /// <param name="claims">The informer's cache of all WorkspaceStorages, used to find a second claimant of a workspace
    /// without a list call; null lists through <paramref name="storages"/>.</param>
    /// <param name="namespaces">Namespaces' labels for claim ceilings that select namespaces by label; null: such selectors match nothing.</param>
    /// <param name="audit">Where identity and key audit records go; null: Events through <paramref name="events"/>, no audit log records.</param>
    public WorkspaceStorageReconciler(IResourceClient<WorkspaceStorageResource> storages, IResourceClient<V1Secret> secrets,
        IStorageBackendResolver resolver, IEventRecorder events, ILogger<WorkspaceStorageReconciler> logger,
        IResourceCache<WorkspaceStorageResource>? claims = null, WorkspaceStorageReconcilerOptions? options = null, TimeProvider? time = null,
        NamespaceLabels? namespaces = null, IAuditTrail? audit = null)
    {
        this.storages = storages ?? throw new ArgumentNullException(nameof(storages));
        ArgumentNullException.ThrowIfNull(secrets);
        this.resolver = resolver ?? throw new ArgumentNullException(nameof(resolver));
        this.events = events ?? throw new ArgumentNullException(nameof(events));
        ArgumentNullException.ThrowIfNull(logger);
        this.options = options ?? new WorkspaceStorageReconcilerOptions();
        clock = time ?? TimeProvider.System;
        this.claims = new WorkspaceClaims(storages, claims, logger);
        this.secrets = new CredentialSecretWriter(secrets);
        this.audit = audit ?? new AuditTrail(events, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        keys = new WorkspaceKeys(this.secrets, events, this.audit, clock);
        status = new WorkspaceStatusReporter(new StatusWriter<WorkspaceStorageResource, WorkspaceStorageStatus>(storages, this.options.StatusWriteAttempts),
            events, clock, logger);
        admission = new ClaimAdmission(resolver, namespaces ?? NamespaceLabels.None, this.secrets, status, logger);
        usage = new WorkspaceUsageReader(this.options.Usage, clock);
        finalizer = new WorkspaceFinalizer(storages, resolver, this.claims, admission, this.secrets, status, events, this.audit, usage, this.options, clock, logger);
    }

    public async Task<ReconcileResult> ReconcileAsync(ReconcileRequest<WorkspaceStorageResource> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        // Read the stored object, not the cache: a finalizer or status written a moment ago must be seen.
        var resource = await storages.GetAsync(request.Key, cancellationToken);
        if (resource is null)
        {
            return ReconcileResult.Done;
        }

        return resource.Metadata.DeletionTimestamp is not null
            ? await finalizer.FinalizeAsync(resource, cancellationToken)
            : await ProvisionAsync(resource, cancellationToken);
    }

    /// <summary>The usage reader (its read count: a resync makes no listing).</summary>
    public WorkspaceUsageReader Usage => usage;

    internal static bool HasFinalizer(WorkspaceStorageResource resource) => resource.Metadata.Finalizers?.Contains(ResourceMetadata.Finalizer) == true;

    private async Task<ReconcileResult> ProvisionAsync(WorkspaceStorageResource resource, CancellationToken cancellationToken)
    {
        var validation = resource.Validate(resolver.HasDefaultBackend);
        if (!validation.IsValid)
        {
            await status.StallAsync(resource, ConditionReasons.InvalidSpec, validation.Message, cancellationToken);
            return ReconcileResult.Done;
        }

        var spec = validation.Value!;

        // The ceiling before anything else, the finalizer included: a refused claim that never held the workspace has
        // nothing to clean up, so it gets no finalizer and its deletion can never reach the backend.
        ClaimCeiling ceiling;
        try
        {
            ceiling = await admission.CeilingAsync(spec.BackendName, cancellationToken);
        }
        catch (Exception error) when (BackendFailure.From(error, "spec.backendRef") is { } failure)
        {
            return await FailedAsync(resource, failure, error, cancellationToken);
        }

        if (admission.Refusal(ceiling, resource, spec.Workspace) is { } refusal)
        {
            using var refusedHold = await claims.HoldAsync(resource, spec.Workspace, spec.BackendName, cancellationToken);
            try
            {
                await admission.RefuseAsync(resource, resource.Status?.Workspace is { } held && WorkspaceId.TryParse(held, out var heldId, out _) ? heldId : spec.Workspace,
                    spec.BackendName, spec.SecretName, refusal, cancellationToken);
            }
            catch (Exception error) when (BackendFailure.From(error, "spec.backendRef") is { } failure)
            {
                return await FailedAsync(resource, failure, error, cancellationToken);
            }

            return ReconcileResult.Done;
        }

        // The backend and the Secret are read while the finalizer is written: on a create that takes two Kubernetes
        // round trips off the path to Ready. Nothing is written to the backend before the finalizer is in place.
        var resolving = resolver.ResolveAsync(spec.BackendName, cancellationToken);
        var readingSecret = secrets.GetAsync(resource, spec.SecretName, cancellationToken);
        try
        {
            resource = await EnsureFinalizerAsync(resource, cancellationToken);
        }
        catch
        {
            await Task.WhenAll(resolving, readingSecret).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }

        try
        {
            var secret = await readingSecret;
            return await ProvisionOnBackendAsync(resource, spec, ceiling, await resolving, secret, cancellationToken);
        }
        catch (Exception error) when (BackendFailure.From(error, "spec.backendRef") is { } failure)
        {
            return await FailedAsync(resource, failure, error, cancellationToken);
        }
        finally
        {
            // Whichever read failed first surfaced above; the other must not go unobserved.
            await Task.WhenAll(resolving, readingSecret).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task<ReconcileResult> FailedAsync(WorkspaceStorageResource resource, BackendFailure failure, Exception error, CancellationToken cancellationToken)
    {
        await status.FailedAsync(resource, failure, cancellationToken);
        if (!failure.Stalled)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error); // transient: the work queue backs off this key
        }

        return ReconcileResult.RequeueAfter(error is BackendAuthenticationException ? options.AuthenticationRetryDelay : options.ConfigurationRetryDelay);
    }

    private async Task<WorkspaceStorageResource> EnsureFinalizerAsync(WorkspaceStorageResource resource, CancellationToken cancellationToken)
    {
        if (HasFinalizer(resource))
        {
            return resource;
        }

        resource.Metadata.Finalizers ??= [];
        resource.Metadata.Finalizers.Add(ResourceMetadata.Finalizer);
        return await storages.ReplaceAsync(resource, cancellationToken);
    }

    private async Task<ReconcileResult> ProvisionOnBackendAsync(WorkspaceStorageResource resource, ValidatedWorkspaceStorage spec, ClaimCeiling ceiling,
        ResolvedBackend backend, V1Secret? secret, CancellationToken cancellationToken)
    {
        // Held until the status below records the outcome: a second claimant reconciled meanwhile then sees who holds it.
        using var hold = await claims.HoldAsync(resource, spec.Workspace, spec.BackendName, cancellationToken);
        // Claimants the ceiling refuses are in nobody's way: a tenant squatting a workspace early must not keep its owner out.
        if (await claims.OlderClaimantAsync(resource, spec.Workspace, spec.BackendName, admission.Admits(ceiling, spec.Workspace), cancellationToken) is { } otherClaimant)
        {
            await status.StallAsync(resource, WorkspaceStorageConditions.WorkspaceAlreadyClaimed,
                $"spec.workspace: workspace '{spec.Workspace}' on backend '{(backend.Name.Length == 0 ? "(default)" : backend.Name)}' is already claimed by WorkspaceStorage {otherClaimant}",
                cancellationToken);
            return ReconcileResult.Done;
        }

        // The Secret name and a key the user brings are checked before anything is created on the backend.
        if (secret is not null && !CredentialSecretWriter.IsOwnedBy(secret, resource))
        {
            await status.StallAsync(resource, ConditionReasons.SecretConflict, CredentialSecretWriter.OwnerOf(secret) is { } owner
                    ? $"spec.secret.name: Secret '{spec.SecretName}' is the credential Secret of WorkspaceStorage {resource.Metadata.NamespaceProperty}/{owner}; choose another name"
                    : $"spec.secret.name: Secret '{spec.SecretName}' exists and is not owned by this WorkspaceStorage; choose another name or delete it",
                cancellationToken);
            return ReconcileResult.RequeueAfter(options.ConfigurationRetryDelay);
        }

        // Not written yet, but an older WorkspaceStorage asks for the same name: whichever created it first would
        // otherwise win, and the other would have made an identity on the backend for nothing.
        if (secret is null && await claims.OlderSecretClaimantAsync(resource, spec.SecretName, cancellationToken) is { } olderSecretClaimant)
        {
            await status.StallAsync(resource, ConditionReasons.SecretConflict,
                $"spec.secret.name: Secret '{spec.SecretName}' is also asked for by WorkspaceStorage {olderSecretClaimant}, which comes first; choose another name",
                cancellationToken);
            return ReconcileResult.RequeueAfter(options.ConfigurationRetryDelay);
        }

        AwsCredentials? brought = null;
        if (spec.ExistingSecret is { } existing)
        {
            var source = await secrets.GetAsync(resource, existing.Name, cancellationToken);
            brought = CredentialSecretLayout.ReadCredentials(source?.Data, existing.AccessKeyIdKey, existing.SecretAccessKeyKey);
            if (brought is null)
            {
                await status.StallAsync(resource, ConditionReasons.ExistingSecretInvalid, source is null
                    ? $"spec.credentials.existingSecretRef.name: Secret '{existing.Name}' not found"
                    : $"spec.credentials.existingSecretRef: Secret '{existing.Name}' lacks non-empty keys '{existing.AccessKeyIdKey}' and '{existing.SecretAccessKeyKey}'",
                    cancellationToken);
                return ReconcileResult.RequeueAfter(options.ConfigurationRetryDelay);
            }
        }

        // The quota, held to the backend's ceiling (a tenant cannot raise its own), then the access the usage leaves:
        // at the quota the identity's policy loses put (ReadDelete), so the storage server itself refuses uploads.
        var limits = QuotaRules.Effective(spec.Quota, backend.Quota, backend.Name);
        if (!limits.IsValid)
        {
            await status.StallAsync(resource, WorkspaceStorageConditions.QuotaAboveCeiling, limits.Message, cancellationToken);
            return ReconcileResult.Done;
        }

        var used = await usage.ReadAsync(backend.Name, backend.Backend, spec.Workspace, resource.Status?.Usage, cancellationToken);
        var quota = new QuotaOutcome(limits.Value!, used);
        var access = QuotaRules.AccessWithin(used.Figures, quota.Limits, spec.Access);
        var identity = await backend.Backend.EnsureIdentityAsync(spec.Workspace, access, cancellationToken);
        if (identity == EnsureOutcome.Created)
        {
            await audit.RecordAsync(resource, new AuditEvent(AuditEventType.IdentityCreated, spec.Workspace.Value, AuditActor.Operator)
            {
                Backend = backend.Name,
                Access = access,
                Path = $"{backend.Backend.Location.Bucket}/{spec.Workspace.Prefix}",
            }, cancellationToken);
        }

        var key = await keys.ReconcileAsync(resource, spec, backend.Backend, secret, brought, identityIsNew: identity == EnsureOutcome.Created, backend.Name,
            cancellationToken);
        var ready = await status.ReadyAsync(resource, spec, backend, key, cancellationToken, quota);
        if (ready.BecameReady)
        {
            await events.RecordAsync(ready.Resource, EventSeverity.Normal, "Provisioned",
                $"Workspace '{spec.Workspace}' ready at {backend.Backend.Location.Bucket}/{spec.Workspace.Prefix} (access {spec.Access}, key {key.Current.AccessKeyId}, Secret {spec.SecretName})",
                cancellationToken);
        }
        else if (identity != EnsureOutcome.Unchanged && resource.Status?.ObservedGeneration == resource.Metadata.Generation)
        {
            await events.RecordAsync(resource, EventSeverity.Normal, "DriftRepaired",
                $"Identity or policy of workspace '{spec.Workspace}' differed on the backend and was restored", cancellationToken);
        }

        if (quota.Reached != resource.Status.IsTrue(WorkspaceStorageConditions.QuotaExceeded) && (quota.Reached || resource.Status?.Usage is not null))
        {
            await events.RecordAsync(ready.Resource, quota.Reached ? EventSeverity.Warning : EventSeverity.Normal,
                quota.Reached ? WorkspaceStorageConditions.OverQuota : WorkspaceStorageConditions.WithinQuota, quota.Message, cancellationToken);
        }

        // Run again when the next revocation or rotation falls due, or (under a quota) the next usage read; otherwise the
        // periodic resync finds drift and measures usage again.
        var next = key.Plan.NextCheck;
        if (quota.Limits.IsLimited && usage.NextRead(used.ReadAt) is var read && (next is null || read < next))
        {
            next = read;
        }

        return next is { } at
            ? ReconcileResult.RequeueAfter(Max(at - clock.GetUtcNow() + MinimumRequeue, MinimumRequeue))
            : ReconcileResult.Done;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
