using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Storage.Aws;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Minio;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Storage.Backends;

/// <summary>
/// Builds <see cref="MinioStorageBackend"/>, <see cref="CephRgwStorageBackend"/> and <see cref="AwsStorageBackend"/> instances. Backends without a CA
/// bundle share one connection pool; a backend with its own CA bundle gets its own pool (trusting the system roots and
/// the bundle), disposed with it.
/// </summary>
public sealed class StorageBackendFactory : IStorageBackendFactory, IDisposable
{
    private readonly RetryOptions retry;
    private readonly IBackendCallObserver observer;
    private readonly ILoggerFactory loggers;
    private readonly TimeProvider time;
    private readonly HttpClient sharedHttp;
    private readonly S3ClientFactory sharedS3;

    public StorageBackendFactory(IBackendCallObserver observer, ILoggerFactory loggers, RetryOptions? retry = null, TimeProvider? time = null)
    {
        this.observer = observer ?? throw new ArgumentNullException(nameof(observer));
        this.loggers = loggers ?? throw new ArgumentNullException(nameof(loggers));
        this.retry = retry ?? new RetryOptions();
        this.retry.Validate();
        this.time = time ?? TimeProvider.System;
        sharedHttp = NewHttpClient(null);
        sharedS3 = new S3ClientFactory(new S3ClientOptions { Retry = this.retry }, observer, this.time);
    }

    public OwnedBackend Create(BackendSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var location = settings.Location;
        HttpClient http = sharedHttp;
        S3ClientFactory s3 = sharedS3;
        IDisposable? owned = null;
        if (settings.CaBundle is not null)
        {
            var trust = new X509Certificate2Collection();
            trust.ImportFromPem(settings.CaBundle);
            http = NewHttpClient(trust);
            s3 = new S3ClientFactory(new S3ClientOptions { Retry = retry }, observer, time, CreateHandler(trust));
            owned = new Disposables(http, s3);
        }

        var buckets = new AdminBucketOperations(s3.Create(location, settings.AdminCredentials), loggers.CreateLogger<AdminBucketOperations>());
        IStorageBackend backend = settings.Type switch
        {
            StorageBackendType.CephRgw => new CephRgwStorageBackend(new CephRgwBackendOptions(location, settings.AdminCredentials) { Retry = retry },
                http, buckets, observer, loggers.CreateLogger<CephRgwStorageBackend>(), time),
            StorageBackendType.Minio => new MinioStorageBackend(
                new MinioAdminClient(http, new MinioAdminOptions { Endpoint = settings.Endpoint, AdminCredentials = settings.AdminCredentials, Region = settings.Region, Retry = retry }, observer, time),
                buckets, location, loggers.CreateLogger<MinioStorageBackend>(), time),
            StorageBackendType.Aws => new AwsStorageBackend(new AwsBackendOptions(location, settings.AdminCredentials) { Retry = retry },
                http, buckets, observer, loggers.CreateLogger<AwsStorageBackend>(), time),
            _ => throw new BackendConfigurationException("spec.type", $"unknown backend type '{settings.Type}' (minio, ceph-rgw or aws)"),
        };
        return new OwnedBackend(backend, owned);
    }

    public void Dispose()
    {
        sharedHttp.Dispose();
        sharedS3.Dispose();
    }

    private static HttpClient NewHttpClient(X509Certificate2Collection? trust) =>
        // Each attempt has its own timeout in SignedHttpSender; HttpClient's total timeout would only get in the way.
        new(CreateHandler(trust), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };

    internal static SocketsHttpHandler CreateHandler(X509Certificate2Collection? trust)
    {
        // The storage connection recipe (no proxy, no redirects, quick ACKs, default timeouts), plus the backend's CA bundle.
        var handler = S3ClientFactory.CreateHandler(new S3ClientOptions());
        if (trust is not null)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Trusted(certificate, chain, errors, trust),
            };
        }

        return handler;
    }

    /// <summary>System roots first; then the bundle as extra roots (the name must still match).</summary>
    private static bool Trusted(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2Collection trust)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(trust);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    private sealed class Disposables(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
