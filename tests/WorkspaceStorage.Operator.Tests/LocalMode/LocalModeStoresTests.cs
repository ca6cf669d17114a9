using System.Text;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Operator.LocalMode;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Operator.Tests.LocalMode;

/// <summary>The manifest directory as a resource source: what people see when they write, edit and delete files.</summary>
public sealed class LocalModeStoresTests : IDisposable
{
    private const string Backend = """
        apiVersion: v1
        kind: Secret
        metadata:
          name: admin
          namespace: system
        stringData:
          AWS_ACCESS_KEY_ID: ADMINKEY
          AWS_SECRET_ACCESS_KEY: admin-secret
        ---
        apiVersion: workspacestorage.hypha.amun.ai/v1alpha1
        kind: StorageBackend
        metadata:
          name: rgw
          namespace: ignored-for-cluster-scoped
        spec:
          type: ceph-rgw
          endpoint: http://127.0.0.1:1
          pathStyle: true
          adminCredentialsSecretRef: {name: admin, namespace: system}
        ---
        """;

    private readonly TempDirectory manifests = new("manifests");
    private readonly TempDirectory output = new("output");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        manifests.Dispose();
        output.Dispose();
    }

    private LocalModeStores NewStores(LogCapture? logger = null, TimeProvider? time = null) =>
        new(new LocalModeOptions(manifests.Path, output.Path), logger ?? (Microsoft.Extensions.Logging.ILogger)NullLogger.Instance, time);

    private static string Storage(string name, string access = "ReadWrite", string extra = "") => $"""
        apiVersion: workspacestorage.hypha.amun.ai/v1alpha1
        kind: WorkspaceStorage
        metadata:
          name: {name}
        {extra}spec:
          backendRef: {"{"}name: rgw{"}"}
          access: {access}
        """;

    [Fact]
    public async Task Multi_document_manifests_become_objects_with_server_fields_and_secret_string_data_becomes_data()
    {
        await File.WriteAllTextAsync(manifests.Combine("all.yaml"), Backend + "\n" + Storage("ws-one"), Ct);
        await File.WriteAllTextAsync(manifests.Combine("kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [all.yaml]\n", Ct);
        using var stores = NewStores();
        await stores.StartAsync(Ct);

        var storage = await stores.WorkspaceStorages.GetAsync(new ResourceKey("default", "ws-one"), Ct);
        Assert.NotNull(storage);
        Assert.False(string.IsNullOrEmpty(storage.Metadata.Uid));
        Assert.Equal(1, storage.Metadata.Generation);
        Assert.Equal(WorkspaceAccess.ReadWrite, storage.Spec.Access);

        var backend = await stores.StorageBackends.GetAsync(new ResourceKey(null, "rgw"), Ct);
        Assert.Equal(StorageBackendType.CephRgw, backend?.Spec.Type);
        Assert.True(backend?.Spec.PathStyle);

        var admin = await stores.Secrets.GetAsync(new ResourceKey("system", "admin"), Ct);
        Assert.Equal("admin-secret", Encoding.UTF8.GetString(admin!.Data["AWS_SECRET_ACCESS_KEY"]));
        Assert.Null(admin.StringData);

        // Output: the storage and the backend, not the admin Secret (the operator does not manage it).
        Assert.True(File.Exists(output.Combine("workspacestorages", "default", "ws-one.yaml")));
        Assert.True(File.Exists(output.Combine("storagebackends", "rgw.yaml")));
        Assert.False(Directory.Exists(output.Combine("secrets")));
    }

    [Fact]
    public async Task An_edited_manifest_updates_its_object_like_apply_and_keeps_what_the_operator_added()
    {
        await File.WriteAllTextAsync(manifests.Combine("b.yaml"), Backend, Ct);
        var file = manifests.Combine("ws.yaml");
        await File.WriteAllTextAsync(file, Storage("ws-edit", extra: "  labels: {team: a, old: x}\n"), Ct);
        using var stores = NewStores();
        await stores.StartAsync(Ct);
        var key = new ResourceKey("default", "ws-edit");

        // The operator adds a finalizer and a status.
        var current = (await stores.WorkspaceStorages.GetAsync(key, Ct))!;
        current.Metadata.Finalizers = [ResourceMetadata.Finalizer];
        current = await stores.WorkspaceStorages.ReplaceAsync(current, Ct);
        current.Status = new WorkspaceStorageStatus { Bucket = "b" };
        await stores.WorkspaceStorages.ReplaceStatusAsync(current, Ct);

        await File.WriteAllTextAsync(file, Storage("ws-edit", access: "ReadOnly", extra: "  labels: {team: b}\n"), Ct);
        await stores.ScanAsync(Ct);

        var updated = (await stores.WorkspaceStorages.GetAsync(key, Ct))!;
        Assert.Equal(WorkspaceAccess.ReadOnly, updated.Spec.Access);
        Assert.Equal(2, updated.Metadata.Generation);
        Assert.Equal(new Dictionary<string, string> { ["team"] = "b" }, updated.Metadata.Labels);
        Assert.Equal([ResourceMetadata.Finalizer], updated.Metadata.Finalizers);
        Assert.Equal("b", updated.Status?.Bucket);

        // Scanning an unchanged directory writes nothing.
        var writes = stores.WorkspaceStorages.WriteCount;
        await stores.ScanAsync(Ct);
        Assert.Equal(writes, stores.WorkspaceStorages.WriteCount);
    }

    [Fact]
    public async Task A_deleted_manifest_deletes_its_object_after_the_finalizer_and_its_owned_secret_with_it()
    {
        await File.WriteAllTextAsync(manifests.Combine("b.yaml"), Backend, Ct);
        var file = manifests.Combine("ws.yaml");
        await File.WriteAllTextAsync(file, Storage("ws-gone"), Ct);
        using var stores = NewStores();
        using var running = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = stores.RunAsync(running.Token);
        var key = new ResourceKey("default", "ws-gone");
        await Eventually.TrueAsync(() => stores.WorkspaceStorages.GetAsync(key, Ct).Result is not null, "the object");

        var current = (await stores.WorkspaceStorages.GetAsync(key, Ct))!;
        current.Metadata.Finalizers = [ResourceMetadata.Finalizer];
        current = await stores.WorkspaceStorages.ReplaceAsync(current, Ct);
        await stores.Secrets.CreateAsync(OwnedSecret("ws-gone-s3", current), Ct);
        var secretFile = output.Combine("secrets", "default", "ws-gone-s3.yaml");
        var storageFile = output.Combine("workspacestorages", "default", "ws-gone.yaml");
        Assert.True(File.Exists(secretFile));

        File.Delete(file);
        await Eventually.TrueAsync(() => stores.WorkspaceStorages.GetAsync(key, Ct).Result?.Metadata.DeletionTimestamp is not null, "terminating");
        Assert.True(File.Exists(storageFile));
        Assert.True(File.Exists(secretFile));

        var terminating = (await stores.WorkspaceStorages.GetAsync(key, Ct))!;
        terminating.Metadata.Finalizers = [];
        await stores.WorkspaceStorages.ReplaceAsync(terminating, Ct);
        Assert.False(File.Exists(storageFile));
        await Eventually.TrueAsync(() => !File.Exists(secretFile), "the owned Secret collected");

        await running.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_file_that_stops_parsing_keeps_its_objects_and_the_warning_does_not_quote_it()
    {
        await File.WriteAllTextAsync(manifests.Combine("b.yaml"), Backend, Ct);
        var file = manifests.Combine("ws.yaml");
        await File.WriteAllTextAsync(file, Storage("ws-keep"), Ct);
        var logger = new LogCapture();
        using var stores = NewStores(logger);
        await stores.StartAsync(Ct);

        await File.WriteAllTextAsync(file, "apiVersion: v1\nkind: [unclosed\nsecret-looking-text: hunter2-secret\n", Ct);
        await stores.ScanAsync(Ct);

        Assert.NotNull(await stores.WorkspaceStorages.GetAsync(new ResourceKey("default", "ws-keep"), Ct));
        Assert.Contains("not valid YAML", logger.All, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", logger.All, StringComparison.Ordinal);
        Assert.DoesNotContain("admin-secret", logger.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_caught_mid_save_deletes_nothing()
    {
        await File.WriteAllTextAsync(manifests.Combine("b.yaml"), Backend, Ct);
        var file = manifests.Combine("ws.yaml");
        var content = Storage("ws-saved");
        await File.WriteAllTextAsync(file, content, Ct);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var stores = NewStores(time: time);
        await stores.StartAsync(Ct);

        // The scan reads the truncated file before it returns (nothing else holds the scan lock), then waits the
        // debounce on the fake clock: the rewrite lands inside it however slow the machine, and the clock moves on.
        await File.WriteAllTextAsync(file, "", Ct); // `cp` truncates first …
        var scan = stores.ScanAsync(Ct);
        Assert.False(scan.IsCompleted, "the scan saw nothing to delete, so the mid-save case was not exercised");
        await File.WriteAllTextAsync(file, content, Ct); // … and writes a moment later
        time.Advance(new LocalModeOptions(manifests.Path, output.Path).Debounce);
        await scan;

        var storage = await stores.WorkspaceStorages.GetAsync(new ResourceKey("default", "ws-saved"), Ct);
        Assert.NotNull(storage);
        Assert.Null(storage.Metadata.DeletionTimestamp);

        // A file that stays gone is a deletion.
        File.Delete(file);
        var second = stores.ScanAsync(Ct);
        time.Advance(new LocalModeOptions(manifests.Path, output.Path).Debounce);
        await second;
        Assert.Null(await stores.WorkspaceStorages.GetAsync(new ResourceKey("default", "ws-saved"), Ct));
    }

    [Fact]
    public async Task A_restart_restores_storages_and_their_secrets_with_matching_owner_uids_and_runs_pending_deletions()
    {
        await File.WriteAllTextAsync(manifests.Combine("b.yaml"), Backend, Ct);
        await File.WriteAllTextAsync(manifests.Combine("keep.yaml"), Storage("ws-keep"), Ct);
        await File.WriteAllTextAsync(manifests.Combine("drop.yaml"), Storage("ws-drop"), Ct);
        using (var first = NewStores())
        {
            await first.StartAsync(Ct);
            foreach (var name in (string[])["ws-keep", "ws-drop"])
            {
                var current = (await first.WorkspaceStorages.GetAsync(new ResourceKey("default", name), Ct))!;
                current.Metadata.Finalizers = [ResourceMetadata.Finalizer];
                current = await first.WorkspaceStorages.ReplaceAsync(current, Ct);
                current.Status = new WorkspaceStorageStatus { SecretName = name + "-s3" };
                current = await first.WorkspaceStorages.ReplaceStatusAsync(current, Ct);
                await first.Secrets.CreateAsync(OwnedSecret(name + "-s3", current), Ct);
            }
        }

        File.Delete(manifests.Combine("drop.yaml")); // while the operator is down
        using var second = NewStores();
        await second.StartAsync(Ct);

        var kept = (await second.WorkspaceStorages.GetAsync(new ResourceKey("default", "ws-keep"), Ct))!;
        Assert.Equal("ws-keep-s3", kept.Status?.SecretName);
        var keptSecret = (await second.Secrets.GetAsync(new ResourceKey("default", "ws-keep-s3"), Ct))!;
        Assert.Equal(kept.Metadata.Uid, keptSecret.Metadata.OwnerReferences.Single().Uid);
        Assert.Equal("key-of-ws-keep-s3", Encoding.UTF8.GetString(keptSecret.Data["AWS_SECRET_ACCESS_KEY"]));

        var dropped = (await second.WorkspaceStorages.GetAsync(new ResourceKey("default", "ws-drop"), Ct))!;
        Assert.NotNull(dropped.Metadata.DeletionTimestamp); // terminating: the reconciler's finalizer runs
    }

    private static V1Secret OwnedSecret(string name, WorkspaceStorageResource owner) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = owner.Metadata.NamespaceProperty,
            Labels = new Dictionary<string, string>(ResourceMetadata.SecretLabels(owner.Metadata.Name)),
            OwnerReferences = [new V1OwnerReference { ApiVersion = owner.ApiVersion, Kind = owner.Kind, Name = owner.Metadata.Name, Uid = owner.Metadata.Uid, Controller = true }],
        },
        Data = new Dictionary<string, byte[]> { ["AWS_SECRET_ACCESS_KEY"] = Encoding.UTF8.GetBytes("key-of-" + name) },
    };
}
