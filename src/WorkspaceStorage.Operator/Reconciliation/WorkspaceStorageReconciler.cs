using System.Globalization;
using System.Text;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Operator.Backends;
using WorkspaceStorage.Kubernetes.Runtime;
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
}

/// <summary>Condition types and reasons only this reconciler uses, beyond kstatus's three.</summary>
public static class WorkspaceStorageConditions
{
    /// <summary>True while a replaced key is still valid (its grace period runs); False otherwise.</summary>
    public const string CredentialsRotating = "CredentialsRotating";

    public const string WorkspaceAlreadyClaimed = "WorkspaceAlreadyClaimed";
    public const string AdminCredentialsRejected = "AdminCredentialsRejected";
    public const string RotationComplete = "RotationComplete";
}

/// <summary>Annotations on the credential Secret that make it the source of truth for key state (written atomically with the key).</summary>
public static class CredentialSecretAnnotations
{
    public const string PreviousAccessKeyId = ApiGroup.Group + "/previous-access-key-id";
    public const string PreviousKeyRevokeAfter = ApiGroup.Group + "/previous-key-revoke-after";
    public const string RotatedAt = ApiGroup.Group + "/rotated-at";
    public const string RotationRequest = ApiGroup.Group + "/rotation-request";
}

/// <summary>
/// Brings a WorkspaceStorage's world in line with its spec: validate, finalizer, backend identity, keys (write-ahead:
/// the Secret is written before the backend learns a new key, so a crash never orphans one), credential Secret,
/// status and events. A converged object costs reads only: no Kubernetes write, no backend write.
/// </summary>
public sealed class WorkspaceStorageReconciler : IReconciler<WorkspaceStorageResource>
{
    private static readonly string[] OwnAnnotations =
    [
        ResourceMetadata.ContentHashAnnotation, ResourceMetadata.WorkspaceAnnotation, CredentialSecretAnnotations.PreviousAccessKeyId,
        CredentialSecretAnnotations.PreviousKeyRevokeAfter, CredentialSecretAnnotations.RotatedAt, CredentialSecretAnnotations.RotationRequest,
    ];

    private readonly IResourceClient<WorkspaceStorageResource> storages;
    private readonly IResourceClient<V1Secret> secrets;
    private readonly IStorageBackendResolver resolver;
    private readonly IEventRecorder events;
    private readonly IResourceCache<WorkspaceStorageResource>? claims;
    private readonly WorkspaceStorageReconcilerOptions options;
    private readonly TimeProvider clock;
    private readonly ILogger logger;

    /// <param name="claims">The informer's cache of all WorkspaceStorages, used to find a second claimant of a workspace
    /// without a list call; null lists through <paramref name="storages"/>.</param>
    public WorkspaceStorageReconciler(IResourceClient<WorkspaceStorageResource> storages, IResourceClient<V1Secret> secrets,
        IStorageBackendResolver resolver, IEventRecorder events, ILogger<WorkspaceStorageReconciler> logger,
        IResourceCache<WorkspaceStorageResource>? claims = null, WorkspaceStorageReconcilerOptions? options = null, TimeProvider? time = null)
    {
        this.storages = storages ?? throw new ArgumentNullException(nameof(storages));
        this.secrets = secrets ?? throw new ArgumentNullException(nameof(secrets));
        this.resolver = resolver ?? throw new ArgumentNullException(nameof(resolver));
        this.events = events ?? throw new ArgumentNullException(nameof(events));
        this.logger = logger ?? throw new ArgumentNullException(nameof(logger));
        this.claims = claims;
        this.options = options ?? new WorkspaceStorageReconcilerOptions();
        clock = time ?? TimeProvider.System;
    }

    public async Task<ReconcileResult> ReconcileAsync(ReconcileRequest<WorkspaceStorageResource> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        // Read the stored object, not the cache: a finalizer or status written a moment ago must be seen.
        var resource = await storages.GetAsync(request.Key, cancellationToken).ConfigureAwait(false);
        if (resource is null)
        {
            return ReconcileResult.Done;
        }

        return resource.Metadata.DeletionTimestamp is not null
            ? await FinalizeAsync(resource, cancellationToken).ConfigureAwait(false)
            : await ProvisionAsync(resource, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ReconcileResult> ProvisionAsync(WorkspaceStorageResource resource, CancellationToken cancellationToken)
    {
        var generation = resource.Metadata.Generation;
        var validation = WorkspaceStorageValidator.Validate(resource, resolver.HasDefaultBackend);
        if (!validation.IsValid)
        {
            await StallAsync(resource, ConditionReasons.InvalidSpec, validation.Message, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.Done;
        }

        var spec = validation.Value!;
        if (!HasFinalizer(resource))
        {
            resource.Metadata.Finalizers ??= [];
            resource.Metadata.Finalizers.Add(ResourceMetadata.Finalizer);
            resource = await storages.ReplaceAsync(resource, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var backend = await resolver.ResolveAsync(spec.BackendName, cancellationToken).ConfigureAwait(false);

            var otherClaimant = await OlderClaimantAsync(resource, spec, cancellationToken).ConfigureAwait(false);
            if (otherClaimant is not null)
            {
                await StallAsync(resource, WorkspaceStorageConditions.WorkspaceAlreadyClaimed,
                    $"spec.workspace: workspace '{spec.Workspace}' on backend '{DisplayBackend(backend.Name)}' is already claimed by WorkspaceStorage {otherClaimant}",
                    cancellationToken).ConfigureAwait(false);
                return ReconcileResult.Done;
            }

            // The Secret name and a key the user brings are checked before anything is created on the backend.
            var secret = await secrets.GetAsync(new ResourceKey(resource.Metadata.NamespaceProperty, spec.SecretName), cancellationToken).ConfigureAwait(false);
            if (secret is not null && !IsOwnedBy(secret, resource))
            {
                await StallAsync(resource, ConditionReasons.SecretConflict,
                    $"spec.secret.name: Secret '{spec.SecretName}' exists and is not owned by this WorkspaceStorage; choose another name or delete it", cancellationToken)
                    .ConfigureAwait(false);
                return ReconcileResult.RequeueAfter(options.ConfigurationRetryDelay);
            }

            AwsCredentials? brought = null;
            if (spec.ExistingSecret is { } existing)
            {
                var source = await secrets.GetAsync(new ResourceKey(resource.Metadata.NamespaceProperty, existing.Name), cancellationToken).ConfigureAwait(false);
                brought = CredentialSecretLayout.ReadCredentials(source?.Data, existing.AccessKeyIdKey, existing.SecretAccessKeyKey);
                if (brought is null)
                {
                    await StallAsync(resource, ConditionReasons.ExistingSecretInvalid, source is null
                        ? $"spec.credentials.existingSecretRef.name: Secret '{existing.Name}' not found"
                        : $"spec.credentials.existingSecretRef: Secret '{existing.Name}' lacks non-empty keys '{existing.AccessKeyIdKey}' and '{existing.SecretAccessKeyKey}'",
                        cancellationToken).ConfigureAwait(false);
                    return ReconcileResult.RequeueAfter(options.ConfigurationRetryDelay);
                }
            }

            var identity = await backend.Backend.EnsureIdentityAsync(spec.Workspace, spec.Access, cancellationToken).ConfigureAwait(false);
            var keys = await ReconcileKeysAsync(resource, spec, backend, secret, brought, cancellationToken).ConfigureAwait(false);

            var ready = await WriteReadyStatusAsync(resource, spec, backend, keys, cancellationToken).ConfigureAwait(false);
            if (ready.BecameReady)
            {
                await events.RecordAsync(ready.Resource, EventSeverity.Normal, "Provisioned",
                    $"Workspace '{spec.Workspace}' ready at {backend.Backend.Location.Bucket}/{spec.Workspace.Prefix} (access {spec.Access}, key {keys.Current.AccessKeyId}, Secret {spec.SecretName})",
                    cancellationToken).ConfigureAwait(false);
            }
            else if (identity != EnsureOutcome.Unchanged && resource.Status?.ObservedGeneration == generation)
            {
                await events.RecordAsync(resource, EventSeverity.Normal, "DriftRepaired",
                    $"Identity or policy of workspace '{spec.Workspace}' differed on the backend and was restored", cancellationToken).ConfigureAwait(false);
            }

            return NextRun(spec, keys);
        }
        catch (BackendConfigurationException error)
        {
            await StallAsync(resource, error.Reason, error.Message, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.RequeueAfter(options.ConfigurationRetryDelay);
        }
        catch (BackendAuthenticationException error)
        {
            await StallAsync(resource, WorkspaceStorageConditions.AdminCredentialsRejected,
                $"spec.backendRef: the backend refused the admin credentials ({error.Message})", cancellationToken).ConfigureAwait(false);
            return ReconcileResult.RequeueAfter(options.AuthenticationRetryDelay);
        }
        catch (StorageBackendException error) when (!error.IsTransient)
        {
            await StallAsync(resource, ConditionReasons.BackendRejected, error.Message, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.RequeueAfter(options.ConfigurationRetryDelay);
        }
        catch (StorageBackendException error)
        {
            // Transient: say so, then fail so the queue backs off this key.
            var changed = await UpdateStatusAsync(resource, status =>
            {
                var changed = status.Set(ConditionTypes.Reconciling, Conditions.True, ConditionReasons.BackendUnavailable, error.Message, generation, clock.GetUtcNow());
                changed |= status.Set(ConditionTypes.Ready, Conditions.False, ConditionReasons.BackendUnavailable, error.Message, generation, clock.GetUtcNow());
                return changed | status.Remove(ConditionTypes.Stalled);
            }, cancellationToken).ConfigureAwait(false);
            if (changed.Changed)
            {
                await events.RecordAsync(resource, EventSeverity.Warning, ConditionReasons.BackendUnavailable, error.Message, cancellationToken).ConfigureAwait(false);
            }

            throw;
        }
    }

    private async Task<ReconcileResult> FinalizeAsync(WorkspaceStorageResource resource, CancellationToken cancellationToken)
    {
        if (!HasFinalizer(resource))
        {
            return ReconcileResult.Done;
        }

        var validation = WorkspaceStorageValidator.Validate(resource, resolver.HasDefaultBackend);
        // What was provisioned is in the status; the spec may have become invalid since.
        var workspaceText = resource.Status?.Workspace ?? validation.Value?.Workspace.Value;
        var backendName = resource.Status?.Backend is { } provisioned ? (provisioned.Length == 0 ? null : provisioned) : validation.Value?.BackendName;
        var policy = resource.Spec?.DeletionPolicy ?? DeletionPolicy.Retain;
        string message;
        if (workspaceText is null || !WorkspaceId.TryParse(workspaceText, out var workspace, out _)
            || (resource.Status?.Workspace is null && resource.Status?.AccessKeyId is null && validation.Value is null))
        {
            message = "Nothing was provisioned; finalizer removed";
        }
        else if (await OlderClaimantAsync(resource, workspace, backendName ?? StorageBackendResolver.DefaultBackendName, cancellationToken).ConfigureAwait(false) is { } owner)
        {
            message = $"Workspace '{workspace}' belongs to WorkspaceStorage {owner}; left untouched";
        }
        else
        {
            var provisionedSomething = await HasProvisionedAsync(resource, validation.Value, cancellationToken).ConfigureAwait(false);
            try
            {
                var backend = await resolver.ResolveAsync(backendName, cancellationToken).ConfigureAwait(false);
                await backend.Backend.DeleteWorkspaceAsync(workspace, policy == DeletionPolicy.Delete ? DataDeletion.Delete : DataDeletion.Retain, cancellationToken)
                    .ConfigureAwait(false);
                message = policy == DeletionPolicy.Delete
                    ? $"Removed the identity, keys and policies of workspace '{workspace}' and every object under {workspace.Prefix}"
                    : $"Removed the identity, keys and policies of workspace '{workspace}'; data under {workspace.Prefix} retained";
            }
            catch (BackendConfigurationException error) when (!provisionedSomething)
            {
                // A backend that never existed (a typo in backendRef) must not block deletion forever: nothing was
                // recorded as made there (no status, no Secret), so there is nothing to orphan.
                message = $"Nothing was provisioned ({error.Message}); finalizer removed";
            }
            catch (Exception error) when (error is BackendConfigurationException or StorageBackendException)
            {
                // Keep the finalizer: removing it now would orphan an identity that can still read the data.
                var reason = error is BackendConfigurationException config ? config.Reason : ConditionReasons.BackendUnavailable;
                var changed = await UpdateStatusAsync(resource, status =>
                    status.Set(ConditionTypes.Reconciling, Conditions.True, ConditionReasons.Deleting, $"deleting: {error.Message}", resource.Metadata.Generation, clock.GetUtcNow())
                    | status.Set(ConditionTypes.Ready, Conditions.False, reason, error.Message, resource.Metadata.Generation, clock.GetUtcNow()),
                    cancellationToken).ConfigureAwait(false);
                if (changed.Changed)
                {
                    await events.RecordAsync(resource, EventSeverity.Warning, reason, $"Cannot delete workspace '{workspace}' yet: {error.Message}", cancellationToken)
                        .ConfigureAwait(false);
                }

                if (error is BackendConfigurationException)
                {
                    return ReconcileResult.RequeueAfter(options.ConfigurationRetryDelay);
                }

                throw;
            }
        }

        // Owner references let a real cluster's garbage collector do this too; deleting it here keeps the key's
        // lifetime equal to the identity's everywhere (the test server and the local mode have no collector).
        var secretName = resource.Status?.SecretName ?? validation.Value?.SecretName;
        if (secretName is not null)
        {
            var key = new ResourceKey(resource.Metadata.NamespaceProperty, secretName);
            var secret = await secrets.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (secret is not null && IsOwnedBy(secret, resource))
            {
                await secrets.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
            }
        }

        resource.Metadata.Finalizers.Remove(ResourceMetadata.Finalizer);
        await storages.ReplaceAsync(resource, cancellationToken).ConfigureAwait(false);
        await events.RecordAsync(resource, EventSeverity.Normal, "Deleted", message, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Finalized WorkspaceStorage {Namespace}/{Name}: {Outcome}", resource.Metadata.NamespaceProperty, resource.Metadata.Name, message);
        return ReconcileResult.Done;
    }

    /// <summary>Whether anything may exist on the backend for <paramref name="resource"/>: a status naming the workspace, or its Secret (written before any key).</summary>
    private async Task<bool> HasProvisionedAsync(WorkspaceStorageResource resource, ResolvedWorkspaceStorage? spec, CancellationToken cancellationToken)
    {
        if (resource.Status?.Workspace is not null || resource.Status?.AccessKeyId is not null)
        {
            return true;
        }

        var secretName = resource.Status?.SecretName ?? spec?.SecretName;
        if (secretName is null)
        {
            return false;
        }

        var secret = await secrets.GetAsync(new ResourceKey(resource.Metadata.NamespaceProperty, secretName), cancellationToken).ConfigureAwait(false);
        return secret is not null && IsOwnedBy(secret, resource);
    }

    /// <summary>The key state after this reconcile.</summary>
    private sealed record KeyResult(AwsCredentials Current, KeyState State);

    /// <summary>What the Secret's annotations record besides the current key.</summary>
    private sealed record KeyState(string? PreviousAccessKeyId, DateTimeOffset? PreviousRevokeAfter, DateTimeOffset? RotatedAt, string? RotationRequest);

    /// <param name="secret">The credential Secret as read (owned by <paramref name="resource"/>), or null.</param>
    /// <param name="brought">The user's own key (spec.credentials.existingSecretRef), already read; null when the operator manages keys.</param>
    private async Task<KeyResult> ReconcileKeysAsync(WorkspaceStorageResource resource, ResolvedWorkspaceStorage spec, ResolvedBackend backend,
        V1Secret? secret, AwsCredentials? brought, CancellationToken cancellationToken)
    {
        var now = WholeSeconds(clock.GetUtcNow());

        var state = ReadState(secret);
        var current = CredentialSecretLayout.ReadCredentials(secret?.Data);
        string? rotatedReason = null;

        if (brought is not null)
        {
            if (current != brought)
            {
                state = new KeyState(null, null, now, null);
            }

            current = brought;
        }
        else
        {
            var request = resource.Metadata.Annotations?.TryGetValue(ResourceMetadata.RotateAnnotation, out var value) == true && !string.IsNullOrEmpty(value) ? value : null;
            if (current is null)
            {
                rotatedReason = secret is null ? null : "the Secret held no usable key";
                state = new KeyState(null, null, now, request);
                current = AccessKeyGenerator.Generate();
            }
            else
            {
                var byInterval = spec.RotationInterval is { } interval && (state.RotatedAt ?? DateTimeOffset.MinValue) + interval <= now;
                var byRequest = request is not null && request != state.RotationRequest;
                if (byInterval || byRequest)
                {
                    rotatedReason = byRequest ? $"requested (annotation {ResourceMetadata.RotateAnnotation}={request})" : $"rotationInterval {DurationParser.Format(spec.RotationInterval!.Value)} elapsed";
                    state = spec.RotationGracePeriod > TimeSpan.Zero
                        ? new KeyState(current.AccessKeyId, now + spec.RotationGracePeriod, now, request ?? state.RotationRequest)
                        : new KeyState(null, null, now, request ?? state.RotationRequest);
                    current = AccessKeyGenerator.Generate();
                }
            }
        }

        // Write-ahead: the Secret records the key (and the replaced one) before the backend learns it.
        secret = await WriteSecretAsync(resource, spec, backend, secret, current, state, cancellationToken).ConfigureAwait(false);
        await backend.Backend.EnsureKeyAsync(spec.Workspace, current, cancellationToken).ConfigureAwait(false);
        if (rotatedReason is not null)
        {
            await events.RecordAsync(resource, EventSeverity.Normal, "CredentialsRotated",
                $"New key {current.AccessKeyId} in Secret {spec.SecretName}: {rotatedReason}" + (state.PreviousAccessKeyId is { } p ? $"; {p} stays valid until {Format(state.PreviousRevokeAfter!.Value)}" : ""),
                cancellationToken).ConfigureAwait(false);
        }

        var previousInGrace = state.PreviousAccessKeyId is not null && state.PreviousRevokeAfter > now;
        foreach (var keyId in await backend.Backend.ListKeysAsync(spec.Workspace, cancellationToken).ConfigureAwait(false))
        {
            if (keyId == current.AccessKeyId || (previousInGrace && keyId == state.PreviousAccessKeyId))
            {
                continue;
            }

            if (await backend.Backend.RevokeKeyAsync(spec.Workspace, keyId, cancellationToken).ConfigureAwait(false) != EnsureOutcome.Unchanged)
            {
                var why = keyId == state.PreviousAccessKeyId ? "its grace period ended" : "it is not the key in the Secret";
                await events.RecordAsync(resource, EventSeverity.Normal, "KeyRevoked", $"Revoked key {keyId}: {why}", cancellationToken).ConfigureAwait(false);
            }
        }

        if (state.PreviousAccessKeyId is not null && !previousInGrace)
        {
            state = state with { PreviousAccessKeyId = null, PreviousRevokeAfter = null };
            await WriteSecretAsync(resource, spec, backend, secret, current, state, cancellationToken).ConfigureAwait(false);
        }

        return new KeyResult(current, state);
    }

    private async Task<V1Secret> WriteSecretAsync(WorkspaceStorageResource owner, ResolvedWorkspaceStorage spec, ResolvedBackend backend, V1Secret? existing,
        AwsCredentials key, KeyState state, CancellationToken cancellationToken)
    {
        var location = backend.Backend.Location;
        var data = CredentialSecretLayout.Build(new CredentialSecretContent(location.PublicEndpoint.ToString(), location.Region, location.Bucket,
            spec.Workspace, key, spec.KeySets, location.PathStyle ? AddressingStyle.Path : AddressingStyle.Virtual));
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ResourceMetadata.ContentHashAnnotation] = CredentialSecretLayout.ContentHash(data),
            [ResourceMetadata.WorkspaceAnnotation] = spec.Workspace.Value,
        };
        AddIfSet(annotations, CredentialSecretAnnotations.PreviousAccessKeyId, state.PreviousAccessKeyId);
        AddIfSet(annotations, CredentialSecretAnnotations.PreviousKeyRevokeAfter, state.PreviousRevokeAfter is { } r ? Format(r) : null);
        AddIfSet(annotations, CredentialSecretAnnotations.RotatedAt, state.RotatedAt is { } t ? Format(t) : null);
        AddIfSet(annotations, CredentialSecretAnnotations.RotationRequest, state.RotationRequest);
        var labels = ResourceMetadata.SecretLabels(owner.Metadata.Name);
        var ownerReference = new V1OwnerReference { ApiVersion = owner.ApiVersion, Kind = owner.Kind, Name = owner.Metadata.Name, Uid = owner.Metadata.Uid, BlockOwnerDeletion = true, Controller = true };

        if (existing is null)
        {
            var created = new V1Secret
            {
                Metadata = new V1ObjectMeta
                {
                    Name = spec.SecretName,
                    NamespaceProperty = owner.Metadata.NamespaceProperty,
                    Labels = new Dictionary<string, string>(labels),
                    Annotations = annotations,
                    OwnerReferences = [ownerReference],
                },
                Type = "Opaque",
                Data = new Dictionary<string, byte[]>(data, StringComparer.Ordinal),
            };
            return await secrets.CreateAsync(created, cancellationToken).ConfigureAwait(false);
        }

        var currentAnnotations = existing.Metadata.Annotations ?? new Dictionary<string, string>();
        var sameAnnotations = OwnAnnotations.All(name =>
            currentAnnotations.TryGetValue(name, out var have) ? annotations.TryGetValue(name, out var want) && want == have : !annotations.ContainsKey(name));
        var sameLabels = labels.All(label => existing.Metadata.Labels?.TryGetValue(label.Key, out var have) == true && have == label.Value);
        if (CredentialSecretLayout.SameContent(existing.Data, data) && sameAnnotations && sameLabels && existing.Type == "Opaque")
        {
            return existing;
        }

        var updated = ResourceCopy.Clone(existing);
        updated.Data = new Dictionary<string, byte[]>(data, StringComparer.Ordinal);
        updated.StringData = null;
        updated.Type = "Opaque";
        updated.Metadata.Annotations ??= new Dictionary<string, string>();
        foreach (var name in OwnAnnotations)
        {
            updated.Metadata.Annotations.Remove(name);
        }

        foreach (var (name, value) in annotations)
        {
            updated.Metadata.Annotations[name] = value;
        }

        updated.Metadata.Labels ??= new Dictionary<string, string>();
        foreach (var (name, value) in labels)
        {
            updated.Metadata.Labels[name] = value;
        }

        return await secrets.ReplaceAsync(updated, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(WorkspaceStorageResource Resource, bool BecameReady)> WriteReadyStatusAsync(WorkspaceStorageResource resource,
        ResolvedWorkspaceStorage spec, ResolvedBackend backend, KeyResult keys, CancellationToken cancellationToken)
    {
        var wasReady = resource.Status.IsTrue(ConditionTypes.Ready) && resource.Status?.ObservedGeneration == resource.Metadata.Generation;
        var location = backend.Backend.Location;
        var result = await UpdateStatusAsync(resource, status =>
        {
            var now = clock.GetUtcNow();
            var generation = resource.Metadata.Generation;
            var changed = Assign(status.Workspace, spec.Workspace.Value, v => status.Workspace = v);
            changed |= Assign(status.Backend, backend.Name, v => status.Backend = v);
            changed |= Assign(status.Bucket, location.Bucket, v => status.Bucket = v);
            changed |= Assign(status.Prefix, spec.Workspace.Prefix, v => status.Prefix = v);
            changed |= Assign(status.Endpoint, location.PublicEndpoint.ToString().TrimEnd('/'), v => status.Endpoint = v);
            changed |= Assign(status.SecretName, spec.SecretName, v => status.SecretName = v);
            changed |= Assign(status.AccessKeyId, keys.Current.AccessKeyId, v => status.AccessKeyId = v);
            changed |= Assign(status.CredentialsRotatedAt, keys.State.RotatedAt?.UtcDateTime, v => status.CredentialsRotatedAt = v);
            changed |= Assign(status.PreviousAccessKeyId, keys.State.PreviousAccessKeyId, v => status.PreviousAccessKeyId = v);
            changed |= Assign(status.PreviousKeyRevokeAfter, keys.State.PreviousRevokeAfter?.UtcDateTime, v => status.PreviousKeyRevokeAfter = v);
            changed |= Assign(status.LastRotationRequest, keys.State.RotationRequest, v => status.LastRotationRequest = v);
            changed |= keys.State.PreviousAccessKeyId is { } previous
                ? status.Set(WorkspaceStorageConditions.CredentialsRotating, Conditions.True, ConditionReasons.RotatingCredentials,
                    $"key {previous} stays valid until {Format(keys.State.PreviousRevokeAfter!.Value)}; new key {keys.Current.AccessKeyId} is in Secret {spec.SecretName}", generation, now)
                : status.Set(WorkspaceStorageConditions.CredentialsRotating, Conditions.False, WorkspaceStorageConditions.RotationComplete,
                    $"only key {keys.Current.AccessKeyId} is valid", generation, now);
            changed |= status.MarkReady(generation, ConditionReasons.Reconciled,
                $"workspace '{spec.Workspace}' ready at {location.Bucket}/{spec.Workspace.Prefix}; credentials in Secret {spec.SecretName}", now);
            return changed;
        }, cancellationToken).ConfigureAwait(false);
        return (result.Resource, !wasReady && result.Changed);
    }

    private async Task StallAsync(WorkspaceStorageResource resource, string reason, string message, CancellationToken cancellationToken)
    {
        var result = await UpdateStatusAsync(resource, status => status.MarkStalled(resource.Metadata.Generation, reason, message, clock.GetUtcNow()), cancellationToken)
            .ConfigureAwait(false);
        if (result.Changed)
        {
            logger.LogWarning("WorkspaceStorage {Namespace}/{Name} stalled: {Reason}: {Message}", resource.Metadata.NamespaceProperty, resource.Metadata.Name, reason, message);
            await events.RecordAsync(resource, EventSeverity.Warning, reason, message, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the status and writes it only when it changed anything; on 409 re-reads
    /// the object and applies the change again (bounded).
    /// </summary>
    private async Task<(WorkspaceStorageResource Resource, bool Changed)> UpdateStatusAsync(WorkspaceStorageResource resource,
        Func<WorkspaceStorageStatus, bool> change, CancellationToken cancellationToken)
    {
        var current = resource;
        for (var attempt = 1; ; attempt++)
        {
            var copy = ResourceCopy.Clone(current);
            copy.Status ??= new WorkspaceStorageStatus();
            if (!change(copy.Status))
            {
                return (current, false);
            }

            try
            {
                var written = await storages.ReplaceStatusAsync(copy, cancellationToken).ConfigureAwait(false);
                return (written, true);
            }
            catch (ResourceConflictException) when (attempt < options.StatusWriteAttempts)
            {
                current = await storages.GetAsync(ResourceKey.Of(resource), cancellationToken).ConfigureAwait(false)
                    ?? throw new ResourceNotFoundException($"WorkspaceStorage {ResourceKey.Of(resource)} disappeared during a status update");
            }
        }
    }

    private Task<string?> OlderClaimantAsync(WorkspaceStorageResource resource, ResolvedWorkspaceStorage spec, CancellationToken cancellationToken) =>
        OlderClaimantAsync(resource, spec.Workspace, spec.BackendName ?? StorageBackendResolver.DefaultBackendName, cancellationToken);

    /// <summary>"namespace/name" of the oldest other WorkspaceStorage claiming the same workspace on the same backend, when it is older.</summary>
    private async Task<string?> OlderClaimantAsync(WorkspaceStorageResource resource, WorkspaceId workspace, string backendName, CancellationToken cancellationToken)
    {
        IEnumerable<WorkspaceStorageResource> all = claims is not null
            ? claims.List()
            : (await storages.ListAsync(null, null, cancellationToken).ConfigureAwait(false)).Items;
        var mine = ClaimOrder(resource, workspace);
        var others = all.Where(other => other.Metadata.Uid != resource.Metadata.Uid && Claims(other, workspace, backendName)).ToList();

        // Rare (normally no other claimant), so judge on the stored objects: the cache may lag behind a deletion or
        // behind the status that says who holds the workspace.
        WorkspaceStorageResource? oldest = null;
        foreach (var candidate in others)
        {
            var live = await storages.GetAsync(ResourceKey.Of(candidate), cancellationToken).ConfigureAwait(false);
            if (live is not null && live.Metadata.Uid == candidate.Metadata.Uid && Claims(live, workspace, backendName)
                && ClaimOrder(live, workspace).CompareTo(mine) < 0
                && (oldest is null || ClaimOrder(live, workspace).CompareTo(ClaimOrder(oldest, workspace)) < 0))
            {
                oldest = live;
            }
        }

        return oldest is null ? null : $"{oldest.Metadata.NamespaceProperty}/{oldest.Metadata.Name}";
    }

    private static bool Claims(WorkspaceStorageResource other, WorkspaceId workspace, string backendName)
    {
        var otherWorkspace = other.Status?.Workspace ?? other.Spec?.Workspace ?? other.Metadata.Name;
        var otherBackend = other.Spec?.BackendRef?.Name ?? StorageBackendResolver.DefaultBackendName;
        return otherWorkspace == workspace.Value && otherBackend == backendName;
    }

    /// <summary>
    /// Who wins a workspace: the one already holding it (provisioned it: status names the workspace and a key), then
    /// the oldest (creationTimestamp has whole seconds only), then by namespace/name, so every reconcile agrees.
    /// </summary>
    private static (int Holds, DateTime Created, string Key) ClaimOrder(WorkspaceStorageResource resource, WorkspaceId workspace) =>
        (resource.Status is { AccessKeyId: not null } status && status.Workspace == workspace.Value ? 0 : 1,
            resource.Metadata.CreationTimestamp ?? DateTime.MaxValue,
            $"{resource.Metadata.NamespaceProperty}/{resource.Metadata.Name}");

    /// <summary>Run again at the earliest of the next rotation and the previous key's revocation; otherwise the resync finds drift.</summary>
    private ReconcileResult NextRun(ResolvedWorkspaceStorage spec, KeyResult keys)
    {
        DateTimeOffset? next = keys.State.PreviousRevokeAfter;
        if (spec.ExistingSecret is null && spec.RotationInterval is { } interval && keys.State.RotatedAt is { } rotatedAt
            && (next is null || rotatedAt + interval < next))
        {
            next = rotatedAt + interval;
        }

        // A little past the instant, since times are kept to whole seconds.
        var minimum = TimeSpan.FromMilliseconds(200);
        return next is { } at ? ReconcileResult.RequeueAfter(Max(at - clock.GetUtcNow() + minimum, minimum)) : ReconcileResult.Done;
    }

    private static DateTimeOffset WholeSeconds(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static KeyState ReadState(V1Secret? secret)
    {
        var annotations = secret?.Metadata?.Annotations;
        if (annotations is null)
        {
            return new KeyState(null, null, null, null);
        }

        annotations.TryGetValue(CredentialSecretAnnotations.PreviousAccessKeyId, out var previous);
        var revokeAfter = ParseTime(annotations, CredentialSecretAnnotations.PreviousKeyRevokeAfter);
        annotations.TryGetValue(CredentialSecretAnnotations.RotationRequest, out var request);
        return new KeyState(
            string.IsNullOrEmpty(previous) || revokeAfter is null ? null : previous,
            string.IsNullOrEmpty(previous) ? null : revokeAfter,
            ParseTime(annotations, CredentialSecretAnnotations.RotatedAt),
            string.IsNullOrEmpty(request) ? null : request);
    }

    private static DateTimeOffset? ParseTime(IDictionary<string, string> annotations, string name) =>
        annotations.TryGetValue(name, out var text)
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            ? value
            : null;

    /// <summary>Whole seconds, as Kubernetes stores times, so status and annotation round-trip unchanged.</summary>
    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static void AddIfSet(Dictionary<string, string> annotations, string name, string? value)
    {
        if (value is not null)
        {
            annotations[name] = value;
        }
    }

    private static bool Assign<TValue>(TValue current, TValue desired, Action<TValue> set)
    {
        if (EqualityComparer<TValue>.Default.Equals(current, desired))
        {
            return false;
        }

        set(desired);
        return true;
    }

    private static bool HasFinalizer(WorkspaceStorageResource resource) => resource.Metadata.Finalizers?.Contains(ResourceMetadata.Finalizer) == true;

    private static bool IsOwnedBy(V1Secret secret, WorkspaceStorageResource owner) =>
        secret.Metadata.OwnerReferences?.Any(r => r.Uid == owner.Metadata.Uid && r.Controller == true) == true;

    private static string DisplayBackend(string name) => name.Length == 0 ? "(default)" : name;
}
