// informer-baseline: the floor any Go operator pays to watch what this project's operator watches, for make bench
// (row 8 reports the operator's resident memory against this program's). It lists and watches, with client-go's
// shared informers, every WorkspaceStorage (dynamic, unstructured, as a controller without generated types holds
// them), every StorageBackend, and the Secrets labelled app.kubernetes.io/managed-by=workspace-storage-operator, and
// does nothing else: no reconciling, no backend calls. managedFields are dropped on intake, as controller-runtime
// users commonly do, and as this project's operator does.
//
// Usage: informer-baseline -kubeconfig FILE -listen 127.0.0.1:PORT
// GET /readyz answers 200 once every informer has synced; GET /counts answers "workspacestorages=N secrets=M
// storagebackends=K", the objects in the caches now.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const group = "workspacestorage.hypha.amun.ai"
const version = "v1alpha1"
const managedBy = "app.kubernetes.io/managed-by=workspace-storage-operator"

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file")
	listen := flag.String("listen", "127.0.0.1:0", "address of /readyz and /counts")
	flag.Parse()
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("informer-baseline: cannot read %s: %v", *kubeconfig, err)
	}
	dyn := dynamic.NewForConfigOrDie(config)
	core := kubernetes.NewForConfigOrDie(config)
	stop := make(chan struct{})

	custom := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 10*time.Hour)
	storages := custom.ForResource(schema.GroupVersionResource{Group: group, Version: version, Resource: "workspacestorages"}).Informer()
	backends := custom.ForResource(schema.GroupVersionResource{Group: group, Version: version, Resource: "storagebackends"}).Informer()
	builtin := informers.NewSharedInformerFactoryWithOptions(core, 10*time.Hour,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = managedBy }))
	secrets := builtin.Core().V1().Secrets().Informer()
	for _, informer := range []cache.SharedIndexInformer{storages, backends, secrets} {
		if err := informer.SetTransform(stripManagedFields); err != nil {
			log.Fatalf("informer-baseline: %v", err)
		}
		// A handler, as a controller registers one to enqueue keys; it does nothing here.
		if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{}); err != nil {
			log.Fatalf("informer-baseline: %v", err)
		}
	}
	custom.Start(stop)
	builtin.Start(stop)

	synced := func() bool { return storages.HasSynced() && backends.HasSynced() && secrets.HasSynced() }
	http.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !synced() {
			http.Error(w, "informers not synced", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/counts", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "workspacestorages=%d secrets=%d storagebackends=%d\n",
			len(storages.GetStore().ListKeys()), len(secrets.GetStore().ListKeys()), len(backends.GetStore().ListKeys()))
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}

// stripManagedFields drops metadata.managedFields (server-side apply's bookkeeping), which no reconcile reads.
func stripManagedFields(obj interface{}) (interface{}, error) {
	if accessor, err := meta.Accessor(obj); err == nil {
		accessor.SetManagedFields(nil)
	}
	return obj, nil
}
