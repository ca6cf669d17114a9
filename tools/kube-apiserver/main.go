// Command kube-apiserver is the project's own small Kubernetes API server for tests and `make run`: Kubernetes' own
// code (k8s.io/apiserver and k8s.io/apiextensions-apiserver, as Debian packages them) serving, in one process on
// loopback and backed by an etcd it is pointed at, CustomResourceDefinitions with their real behaviour, the built-in
// resources the operator and the companion API use, bearer-token authentication and RBAC authorization.
//
// It is what kubebuilder's envtest gives Go operators, without the kube-apiserver binary (which Debian does not ship):
// the parts of kube-apiserver that live in k8s.io/kubernetes (the built-in types' internal versions, their defaulting
// and validation, the controllers) are not packaged, so the built-in stores here are small (builtins.go) and the
// controllers are absent (see README.md).
//
//	kube-apiserver --etcd http://127.0.0.1:2379 --data-dir DIR [--port 0] [--service-accounts ns/name,...]
//
// DIR receives the serving certificate, tokens.csv (generated once, mode 0600), kubeconfig (the admin, in
// system:masters), kubeconfig-<namespace>-<name> per service account, and state.env (PORT, PID) once the port is bound.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	v1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	extensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	extensionsoptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/generic"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"

	noopoteltrace "go.opentelemetry.io/otel/trace/noop"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kube-apiserver: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	etcd := flag.String("etcd", "http://127.0.0.1:2379", "etcd client URL")
	dataDir := flag.String("data-dir", "", "folder for the certificate, tokens, kubeconfigs and state.env (required)")
	port := flag.Int("port", 0, "port on 127.0.0.1; 0 picks a free one (written to state.env and the kubeconfigs)")
	serviceAccounts := flag.String("service-accounts", "", "comma-separated namespace/name: a token and a kubeconfig each")
	verbosity := flag.Int("v", 0, "log verbosity (klog)")
	flag.Parse()
	if *dataDir == "" {
		return fmt.Errorf("--data-dir is required")
	}
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	_ = klogFlags.Set("v", fmt.Sprint(*verbosity))

	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("data folder %s: %v", *dataDir, err)
	}
	probe := filepath.Join(*dataDir, ".writable")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return fmt.Errorf("data folder %s is not writable: %v", *dataDir, err)
	}
	_ = os.Remove(probe)
	if _, err := url.Parse(*etcd); err != nil {
		return fmt.Errorf("--etcd %q: %v", *etcd, err)
	}

	accounts, err := parseServiceAccounts(*serviceAccounts)
	if err != nil {
		return err
	}
	tokens, err := ensureTokens(filepath.Join(*dataDir, "tokens.csv"), accounts)
	if err != nil {
		return err
	}

	// Bind first, so that port 0 is resolved without a race and a busy port is an immediate one-line error.
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(*port)))
	if err != nil {
		return fmt.Errorf("cannot listen on 127.0.0.1:%d: %v", *port, err)
	}
	boundPort := listener.Addr().(*net.TCPAddr).Port

	config, builtins, err := newConfig(*etcd, *dataDir, listener, boundPort, tokens.file)
	if err != nil {
		return err
	}
	server, err := newServer(config, builtins)
	if err != nil {
		return err
	}

	if err := writeKubeconfigs(*dataDir, boundPort, tokens); err != nil {
		return err
	}
	state := fmt.Sprintf("PORT=%d\nPID=%d\nKUBECONFIG=%s\n", boundPort, os.Getpid(), filepath.Join(*dataDir, "kubeconfig"))
	if err := writeFileAtomically(filepath.Join(*dataDir, "state.env"), []byte(state), 0o600); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// newConfig is apiextensions-apiserver's own configuration (its cmd/server/options), changed where this server is its
// own core API: no delegated authentication or authorization (tokens.csv and RBAC here instead), the shared informers
// read this same server over loopback, only the NamespaceLifecycle admission plugin, no API priority and fairness,
// and OpenAPI definitions for the built-in types too.
func newConfig(etcd, dataDir string, listener net.Listener, port int, tokenFile string) (*extensionsapiserver.Config, generic.RESTOptionsGetter, error) {
	o := genericoptions.NewRecommendedOptions("/registry",
		extensionsapiserver.Codecs.LegacyCodec(v1beta1.SchemeGroupVersion, v1.SchemeGroupVersion))
	o.Etcd.StorageConfig.Transport.ServerList = []string{etcd}
	o.SecureServing.Listener = listener
	o.SecureServing.BindPort = port
	o.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	o.SecureServing.ServerCert.CertDirectory = dataDir
	o.SecureServing.ServerCert.PairName = "apiserver"
	o.Features.EnablePriorityAndFairness = false
	// Webhooks and admission policies need admissionregistration.k8s.io, which is not served here.
	o.Admission.DisablePlugins = nil
	for _, plugin := range o.Admission.Plugins.Registered() {
		if plugin != lifecycle.PluginName {
			o.Admission.DisablePlugins = append(o.Admission.DisablePlugins, plugin)
		}
	}
	o.Authentication, o.Authorization, o.CoreAPI = nil, nil, nil
	// The names kube-apiserver's certificate carries for in-cluster clients, so a pod run beside this server (the
	// install test's) can reach it as kubernetes.default.svc with the service account's CA and token.
	inCluster := []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if err := o.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", inCluster, []net.IP{net.ParseIP("127.0.0.1")}); err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %v", err)
	}
	if errs := o.Validate(); len(errs) > 0 {
		return nil, nil, fmt.Errorf("options: %v", errs)
	}

	c := genericapiserver.NewRecommendedConfig(extensionsapiserver.Codecs)
	run := genericoptions.NewServerRunOptions()
	if err := run.Complete(); err != nil {
		return nil, nil, err
	}
	if err := run.ApplyTo(&c.Config); err != nil {
		return nil, nil, err
	}
	resources := extensionsapiserver.DefaultAPIResourceConfigSource()
	resources.EnableVersions(builtinGroupVersions...)
	c.MergedResourceConfig = resources
	if err := o.Etcd.ApplyTo(&c.Config); err != nil {
		return nil, nil, err
	}
	if err := o.SecureServing.ApplyToConfig(&c.Config); err != nil {
		return nil, nil, err
	}
	if err := o.Audit.ApplyTo(&c.Config); err != nil {
		return nil, nil, err
	}
	client, err := kubernetes.NewForConfig(c.LoopbackClientConfig)
	if err != nil {
		return nil, nil, err
	}
	dynamicClient, err := dynamic.NewForConfig(c.LoopbackClientConfig)
	if err != nil {
		return nil, nil, err
	}
	c.ClientConfig = c.LoopbackClientConfig
	c.SharedInformerFactory = informers.NewSharedInformerFactory(client, 0)
	if err := o.Features.ApplyTo(&c.Config, client, c.SharedInformerFactory); err != nil {
		return nil, nil, err
	}
	if err := o.Admission.ApplyTo(&c.Config, c.SharedInformerFactory, client, dynamicClient, o.FeatureGate, c.EffectiveVersion); err != nil {
		return nil, nil, err
	}

	authn, err := newAuthenticator(tokenFile)
	if err != nil {
		return nil, nil, err
	}
	c.Authentication.Authenticator = authn
	c.Authorization.Authorizer = newAuthorizer(c.SharedInformerFactory)

	namer := openapinamer.NewDefinitionNamer(extensionsapiserver.Scheme, scheme.Scheme)
	c.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openAPIDefinitions, namer)
	c.OpenAPIConfig.Info.Title = "Kubernetes"
	c.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openAPIDefinitions, namer)
	c.OpenAPIV3Config.Info.Title = "Kubernetes"

	// The built-ins are stored as their v1 JSON (the generic config's codec knows only apiextensions' types).
	builtinStorage := *o.Etcd
	builtinStorage.StorageConfig.Codec = extensionsapiserver.Codecs.LegacyCodec(builtinGroupVersions...)
	builtins := o.Etcd.CreateRESTOptionsGetter(&genericoptions.SimpleStorageFactory{StorageConfig: builtinStorage.StorageConfig}, c.ResourceTransformers)

	return &extensionsapiserver.Config{
		GenericConfig: c,
		ExtraConfig: extensionsapiserver.ExtraConfig{
			CRDRESTOptionsGetter: extensionsoptions.NewCRDRESTOptionsGetter(*o.Etcd, c.ResourceTransformers, c.StorageObjectCountTracker),
			ServiceResolver:      noServices{},
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, c.LoopbackClientConfig, noopoteltrace.NewTracerProvider()),
		},
	}, builtins, nil
}

// newServer completes the configuration, turns discovery back on (apiextensions' Complete turns it off: it normally
// runs behind kube-apiserver, which serves /api and /apis) and installs the built-in groups and the bootstrap hook.
func newServer(config *extensionsapiserver.Config, builtins generic.RESTOptionsGetter) (*extensionsapiserver.CustomResourceDefinitions, error) {
	completed := config.Complete()
	completed.GenericConfig.EnableDiscovery = true
	server, err := completed.New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}
	if err := installBuiltins(server.GenericAPIServer, builtins); err != nil {
		return nil, err
	}
	server.GenericAPIServer.AddPostStartHookOrDie("wso-bootstrap", bootstrap)
	return server, nil
}

func parseServiceAccounts(list string) ([]serviceAccount, error) {
	var accounts []serviceAccount
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		namespace, name, ok := strings.Cut(item, "/")
		if !ok || namespace == "" || name == "" {
			return nil, fmt.Errorf("--service-accounts: %q is not namespace/name", item)
		}
		accounts = append(accounts, serviceAccount{namespace, name})
	}
	return accounts, nil
}

// noServices answers every webhook service lookup with an error: no Services are served here, so CRD conversion
// webhooks cannot be reached (the project's CRDs have one version and no webhook).
type noServices struct{}

func (noServices) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	return nil, fmt.Errorf("services are not served by this API server (wanted %s/%s:%d)", namespace, name, port)
}
