package main

// The built-in resources, stored in etcd by k8s.io/apiserver's generic registry Store.
//
// kube-apiserver's own stores for these live in k8s.io/kubernetes (pkg/registry, pkg/apis/*/validation), which Debian
// does not package, with each group's internal types. Here each external type is also registered as its group's
// internal version, so the generic handlers convert by identity, and each strategy below carries what kube's
// defaulting, conversion and validation would do for the fields this project uses: Secret stringData merged into
// data and type defaulted to Opaque, key names and the 1 MiB limit of Secrets and ConfigMaps, `immutable`, the
// namespace name label, Lease durations, RBAC rule and binding shapes. Object metadata (names, labels, annotations,
// finalizers, resourceVersion, managedFields) is validated by apimachinery's own ValidateObjectMeta.

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	extensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/storage/names"
)

// The size limit kube-apiserver applies to a Secret's or a ConfigMap's data.
const maxDataSize = 1024 * 1024

// eventTTLSeconds is kube-apiserver's default --event-ttl (1h): etcd drops Events after it.
const eventTTLSeconds = 3600

var apiScheme = extensionsapiserver.Scheme

var builtinGroupVersions = []schema.GroupVersion{corev1.SchemeGroupVersion, appsv1.SchemeGroupVersion, coordinationv1.SchemeGroupVersion, eventsv1.SchemeGroupVersion, rbacv1.SchemeGroupVersion}

func init() {
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, coordinationv1.AddToScheme, eventsv1.AddToScheme, rbacv1.AddToScheme} {
		if err := add(apiScheme); err != nil {
			panic(err)
		}
	}
	internal := func(group string, types ...runtime.Object) {
		apiScheme.AddKnownTypes(schema.GroupVersion{Group: group, Version: runtime.APIVersionInternal}, types...)
	}
	internal("", &corev1.Namespace{}, &corev1.NamespaceList{}, &corev1.Secret{}, &corev1.SecretList{},
		&corev1.ConfigMap{}, &corev1.ConfigMapList{}, &corev1.Event{}, &corev1.EventList{},
		&corev1.ServiceAccount{}, &corev1.ServiceAccountList{}, &corev1.Pod{}, &corev1.PodList{}, &corev1.Service{}, &corev1.ServiceList{})
	internal(appsv1.GroupName, &appsv1.Deployment{}, &appsv1.DeploymentList{})
	internal(coordinationv1.GroupName, &coordinationv1.Lease{}, &coordinationv1.LeaseList{})
	internal(eventsv1.GroupName, &eventsv1.Event{}, &eventsv1.EventList{})
	internal(rbacv1.GroupName, &rbacv1.Role{}, &rbacv1.RoleList{}, &rbacv1.RoleBinding{}, &rbacv1.RoleBindingList{},
		&rbacv1.ClusterRole{}, &rbacv1.ClusterRoleList{}, &rbacv1.ClusterRoleBinding{}, &rbacv1.ClusterRoleBindingList{})
	for _, gv := range builtinGroupVersions {
		if err := apiScheme.SetVersionPriority(gv); err != nil {
			panic(err)
		}
	}
	// Field selectors beyond metadata.name/namespace, as kube-apiserver accepts them (kubectl describe lists a
	// resource's Events with involvedObject.*; the operator's informer selects nothing else).
	must(apiScheme.AddFieldLabelConversionFunc(corev1.SchemeGroupVersion.WithKind("Event"), fieldLabels(eventFields(&corev1.Event{}))))
	must(apiScheme.AddFieldLabelConversionFunc(corev1.SchemeGroupVersion.WithKind("Secret"), fieldLabels(secretFields(&corev1.Secret{}))))
	must(apiScheme.AddFieldLabelConversionFunc(corev1.SchemeGroupVersion.WithKind("Namespace"), fieldLabels(namespaceFields(&corev1.Namespace{}))))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// resource describes one built-in store.
type resource struct {
	plural, singular string
	namespaced       bool
	createOnUpdate   bool
	shortNames       []string
	newObj, newList  func() runtime.Object
	nameFn           apivalidation.ValidateNameFunc
	prepare          func(obj, old runtime.Object)                 // old is nil on create
	validate         func(obj, old runtime.Object) field.ErrorList // old is nil on create
	fields           func(obj runtime.Object) fields.Set           // extra field-selector fields
	ttl              uint64
	status           bool // a status subresource (deployments only)
}

func installBuiltins(server *genericapiserver.GenericAPIServer, getter generic.RESTOptionsGetter) error {
	groups := map[string][]resource{
		"": {
			{plural: "namespaces", singular: "namespace", shortNames: []string{"ns"},
				newObj: func() runtime.Object { return &corev1.Namespace{} }, newList: func() runtime.Object { return &corev1.NamespaceList{} },
				nameFn: apivalidation.ValidateNamespaceName, prepare: prepareNamespace,
				fields: func(o runtime.Object) fields.Set { return namespaceFields(o.(*corev1.Namespace)) }},
			{plural: "secrets", singular: "secret", namespaced: true,
				newObj: func() runtime.Object { return &corev1.Secret{} }, newList: func() runtime.Object { return &corev1.SecretList{} },
				nameFn: apivalidation.NameIsDNSSubdomain, prepare: prepareSecret, validate: validateSecret,
				fields: func(o runtime.Object) fields.Set { return secretFields(o.(*corev1.Secret)) }},
			{plural: "configmaps", singular: "configmap", namespaced: true, shortNames: []string{"cm"},
				newObj: func() runtime.Object { return &corev1.ConfigMap{} }, newList: func() runtime.Object { return &corev1.ConfigMapList{} },
				nameFn: apivalidation.NameIsDNSSubdomain, validate: validateConfigMap},
			{plural: "events", singular: "event", namespaced: true, createOnUpdate: true, shortNames: []string{"ev"}, ttl: eventTTLSeconds,
				newObj: func() runtime.Object { return &corev1.Event{} }, newList: func() runtime.Object { return &corev1.EventList{} },
				nameFn: apivalidation.NameIsDNSSubdomain,
				fields: func(o runtime.Object) fields.Set { return eventFields(o.(*corev1.Event)) }},
			{plural: "serviceaccounts", singular: "serviceaccount", namespaced: true, shortNames: []string{"sa"},
				newObj: func() runtime.Object { return &corev1.ServiceAccount{} }, newList: func() runtime.Object { return &corev1.ServiceAccountList{} },
				nameFn: apivalidation.ValidateServiceAccountName},
			{plural: "pods", singular: "pod", namespaced: true, shortNames: []string{"po"},
				newObj: func() runtime.Object { return &corev1.Pod{} }, newList: func() runtime.Object { return &corev1.PodList{} },
				nameFn: apivalidation.NameIsDNSSubdomain, prepare: preparePod, validate: validatePod},
			{plural: "services", singular: "service", namespaced: true, shortNames: []string{"svc"},
				newObj: func() runtime.Object { return &corev1.Service{} }, newList: func() runtime.Object { return &corev1.ServiceList{} },
				nameFn: apivalidation.NameIsDNS1035Label, prepare: prepareService, validate: validateService},
		},
		appsv1.GroupName: {
			{plural: "deployments", singular: "deployment", namespaced: true, shortNames: []string{"deploy"}, status: true,
				newObj: func() runtime.Object { return &appsv1.Deployment{} }, newList: func() runtime.Object { return &appsv1.DeploymentList{} },
				nameFn: apivalidation.NameIsDNSSubdomain, prepare: prepareDeployment, validate: validateDeployment},
		},
		coordinationv1.GroupName: {
			{plural: "leases", singular: "lease", namespaced: true,
				newObj: func() runtime.Object { return &coordinationv1.Lease{} }, newList: func() runtime.Object { return &coordinationv1.LeaseList{} },
				nameFn: apivalidation.NameIsDNSSubdomain, validate: validateLease},
		},
		// Stored apart from the core Events: kube-apiserver converts between the two APIs through internal types that
		// are not packaged, so an Event written through one API is not listed through the other here.
		eventsv1.GroupName: {
			{plural: "events", singular: "event", namespaced: true, createOnUpdate: true, shortNames: []string{"ev"}, ttl: eventTTLSeconds,
				newObj: func() runtime.Object { return &eventsv1.Event{} }, newList: func() runtime.Object { return &eventsv1.EventList{} },
				nameFn: apivalidation.NameIsDNSSubdomain},
		},
		rbacv1.GroupName: {
			{plural: "roles", singular: "role", namespaced: true, createOnUpdate: true,
				newObj: func() runtime.Object { return &rbacv1.Role{} }, newList: func() runtime.Object { return &rbacv1.RoleList{} },
				nameFn: path.ValidatePathSegmentName, validate: validateRole},
			{plural: "rolebindings", singular: "rolebinding", namespaced: true, createOnUpdate: true,
				newObj: func() runtime.Object { return &rbacv1.RoleBinding{} }, newList: func() runtime.Object { return &rbacv1.RoleBindingList{} },
				nameFn: path.ValidatePathSegmentName, validate: validateRoleBinding},
			{plural: "clusterroles", singular: "clusterrole", createOnUpdate: true,
				newObj: func() runtime.Object { return &rbacv1.ClusterRole{} }, newList: func() runtime.Object { return &rbacv1.ClusterRoleList{} },
				nameFn: path.ValidatePathSegmentName, validate: validateClusterRole},
			{plural: "clusterrolebindings", singular: "clusterrolebinding", createOnUpdate: true,
				newObj: func() runtime.Object { return &rbacv1.ClusterRoleBinding{} }, newList: func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
				nameFn: path.ValidatePathSegmentName, validate: validateClusterRoleBinding},
		},
	}
	versions := map[string]string{"": "v1", appsv1.GroupName: "v1", coordinationv1.GroupName: "v1", eventsv1.GroupName: "v1", rbacv1.GroupName: "v1"}

	var others []*genericapiserver.APIGroupInfo
	for _, group := range []string{"", appsv1.GroupName, coordinationv1.GroupName, eventsv1.GroupName, rbacv1.GroupName} {
		info := genericapiserver.NewDefaultAPIGroupInfo(group, apiScheme, metav1.ParameterCodec, extensionsapiserver.Codecs)
		stores := map[string]rest.Storage{}
		for _, r := range groups[group] {
			s, err := newStore(getter, group, r)
			if err != nil {
				return fmt.Errorf("%s %s: %v", group, r.plural, err)
			}
			stores[r.plural] = s
			if r.status {
				stores[r.plural+"/status"] = newDeploymentStatus(s)
			}
		}
		info.VersionedResourcesStorageMap[versions[group]] = stores
		if group == "" {
			if err := server.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, &info); err != nil {
				return err
			}
			continue
		}
		others = append(others, &info)
	}
	return server.InstallAPIGroups(others...)
}

// store is the generic registry Store with the short names kubectl resolves (ns, cm, ev, sa).
type store struct {
	*genericregistry.Store
	shortNames []string
}

var _ rest.ShortNamesProvider = &store{}

func (s *store) ShortNames() []string { return s.shortNames }

func newStore(getter generic.RESTOptionsGetter, group string, r resource) (*store, error) {
	qualified := schema.GroupResource{Group: group, Resource: r.plural}
	st := &strategy{ObjectTyper: apiScheme, NameGenerator: names.SimpleNameGenerator, r: r}
	s := &genericregistry.Store{
		NewFunc:                   r.newObj,
		NewListFunc:               r.newList,
		DefaultQualifiedResource:  qualified,
		SingularQualifiedResource: schema.GroupResource{Group: group, Resource: r.singular},
		CreateStrategy:            st,
		UpdateStrategy:            st,
		DeleteStrategy:            st,
		TableConvertor:            rest.NewDefaultTableConvertor(qualified),
	}
	if r.ttl > 0 {
		s.TTLFunc = func(runtime.Object, uint64, bool) (uint64, error) { return r.ttl, nil }
	}
	options := &generic.StoreOptions{RESTOptions: getter}
	if r.fields != nil {
		options.AttrFunc = func(obj runtime.Object) (labels.Set, fields.Set, error) {
			m, err := meta.Accessor(obj)
			if err != nil {
				return nil, nil, err
			}
			return labels.Set(m.GetLabels()), r.fields(obj), nil
		}
	}
	if err := s.CompleteWithOptions(options); err != nil {
		return nil, err
	}
	return &store{Store: s, shortNames: r.shortNames}, nil
}

// strategy is one rest.RESTCreateStrategy/RESTUpdateStrategy for every built-in: metadata validation from
// apimachinery plus the resource's own prepare and validate functions.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	r resource
}

func (s *strategy) NamespaceScoped() bool     { return s.r.namespaced }
func (s *strategy) AllowCreateOnUpdate() bool { return s.r.createOnUpdate }
func (s *strategy) AllowUnconditionalUpdate() bool {
	return true
}
func (s *strategy) Canonicalize(runtime.Object)                               {}
func (s *strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }
func (s *strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

func (s *strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	if s.r.prepare != nil {
		s.r.prepare(obj, nil)
	}
}

func (s *strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	if s.r.prepare != nil {
		s.r.prepare(obj, old)
	}
}

func (s *strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
	}
	errs := apivalidation.ValidateObjectMetaAccessor(m, s.r.namespaced, s.r.nameFn, field.NewPath("metadata"))
	if s.r.validate != nil {
		errs = append(errs, s.r.validate(obj, nil)...)
	}
	return errs
}

func (s *strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
	}
	o, err := meta.Accessor(old)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
	}
	errs := apivalidation.ValidateObjectMetaAccessorUpdate(m, o, field.NewPath("metadata"))
	errs = append(errs, apivalidation.ValidateObjectMetaAccessor(m, s.r.namespaced, s.r.nameFn, field.NewPath("metadata"))...)
	if s.r.validate != nil {
		errs = append(errs, s.r.validate(obj, old)...)
	}
	return errs
}

// --- Namespaces ---

// prepareNamespace: what kube's namespace strategy does, except the "kubernetes" finalizer (no namespace controller
// runs here to remove it, so a namespace is deleted at once and what it holds stays in etcd).
func prepareNamespace(obj, old runtime.Object) {
	ns := obj.(*corev1.Namespace)
	if old != nil {
		ns.Status = old.(*corev1.Namespace).Status
	} else {
		ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

func namespaceFields(ns *corev1.Namespace) fields.Set {
	f := generic.ObjectMetaFieldsSet(&ns.ObjectMeta, false)
	f["status.phase"] = string(ns.Status.Phase)
	return f
}

// --- Secrets and ConfigMaps ---

// prepareSecret does what kube's v1 conversion and defaulting do: stringData is write-only, merged over data.
func prepareSecret(obj, old runtime.Object) {
	secret := obj.(*corev1.Secret)
	if len(secret.StringData) > 0 {
		if secret.Data == nil {
			secret.Data = map[string][]byte{}
		}
		for k, v := range secret.StringData {
			secret.Data[k] = []byte(v)
		}
	}
	secret.StringData = nil
	if secret.Type == "" {
		secret.Type = corev1.SecretTypeOpaque
	}
}

func secretFields(secret *corev1.Secret) fields.Set {
	f := generic.ObjectMetaFieldsSet(&secret.ObjectMeta, true)
	f["type"] = string(secret.Type)
	return f
}

func validateSecret(obj, old runtime.Object) field.ErrorList {
	secret := obj.(*corev1.Secret)
	dataPath := field.NewPath("data")
	var errs field.ErrorList
	size := 0
	for key, value := range secret.Data {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(dataPath.Key(key), key, msg))
		}
		size += len(value)
	}
	if size > maxDataSize {
		errs = append(errs, field.TooLong(dataPath, "", maxDataSize))
	}
	required := func(keys ...string) {
		for _, key := range keys {
			if _, ok := secret.Data[key]; !ok {
				errs = append(errs, field.Required(dataPath.Key(key), ""))
			}
		}
	}
	switch secret.Type {
	case corev1.SecretTypeTLS:
		required(corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	case corev1.SecretTypeSSHAuth:
		required(corev1.SSHAuthPrivateKey)
	case corev1.SecretTypeDockerConfigJson:
		required(corev1.DockerConfigJsonKey)
	case corev1.SecretTypeServiceAccountToken:
		if secret.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeBasicAuth:
		_, user := secret.Data[corev1.BasicAuthUsernameKey]
		_, password := secret.Data[corev1.BasicAuthPasswordKey]
		if !user && !password {
			errs = append(errs, field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""), field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""))
		}
	}
	if old != nil {
		previous := old.(*corev1.Secret)
		if secret.Type != previous.Type {
			errs = append(errs, field.Invalid(field.NewPath("type"), secret.Type, "field is immutable"))
		}
		errs = append(errs, validateImmutable(previous.Immutable, secret.Immutable,
			apiequality.Semantic.DeepEqual(secret.Data, previous.Data), "data")...)
	}
	return errs
}

func validateConfigMap(obj, old runtime.Object) field.ErrorList {
	cm := obj.(*corev1.ConfigMap)
	var errs field.ErrorList
	size := 0
	for key, value := range cm.Data {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(key), key, msg))
		}
		size += len(value)
	}
	for key, value := range cm.BinaryData {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(key), key, msg))
		}
		if _, ok := cm.Data[key]; ok {
			errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(key), key, "duplicate of key present in data"))
		}
		size += len(value)
	}
	if size > maxDataSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", maxDataSize))
	}
	if old != nil {
		previous := old.(*corev1.ConfigMap)
		same := apiequality.Semantic.DeepEqual(cm.Data, previous.Data) && apiequality.Semantic.DeepEqual(cm.BinaryData, previous.BinaryData)
		errs = append(errs, validateImmutable(previous.Immutable, cm.Immutable, same, "data")...)
	}
	return errs
}

// validateImmutable: once `immutable: true`, neither the data nor the flag may change (kube's message).
func validateImmutable(oldFlag, newFlag *bool, sameData bool, dataField string) field.ErrorList {
	if oldFlag == nil || !*oldFlag {
		return nil
	}
	var errs field.ErrorList
	if newFlag == nil || !*newFlag {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
	}
	if !sameData {
		errs = append(errs, field.Forbidden(field.NewPath(dataField), "field is immutable when `immutable` is set"))
	}
	return errs
}

// --- Events ---

func eventFields(e *corev1.Event) fields.Set {
	f := generic.ObjectMetaFieldsSet(&e.ObjectMeta, true)
	f["involvedObject.kind"] = e.InvolvedObject.Kind
	f["involvedObject.namespace"] = e.InvolvedObject.Namespace
	f["involvedObject.name"] = e.InvolvedObject.Name
	f["involvedObject.uid"] = string(e.InvolvedObject.UID)
	f["involvedObject.apiVersion"] = e.InvolvedObject.APIVersion
	f["involvedObject.resourceVersion"] = e.InvolvedObject.ResourceVersion
	f["involvedObject.fieldPath"] = e.InvolvedObject.FieldPath
	f["reason"] = e.Reason
	f["reportingComponent"] = e.ReportingController
	f["source"] = e.Source.Component
	f["type"] = e.Type
	return f
}

// fieldLabels accepts exactly the field names the resource's field set has.
func fieldLabels(known fields.Set) runtime.FieldLabelConversionFunc {
	return func(label, value string) (string, string, error) {
		if _, ok := known[label]; ok {
			return label, value, nil
		}
		return "", "", fmt.Errorf("field label not supported: %s", label)
	}
}

// --- Leases ---

func validateLease(obj, _ runtime.Object) field.ErrorList {
	spec := obj.(*coordinationv1.Lease).Spec
	var errs field.ErrorList
	if spec.LeaseDurationSeconds != nil && *spec.LeaseDurationSeconds <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "leaseDurationSeconds"), *spec.LeaseDurationSeconds, "must be greater than 0"))
	}
	if spec.LeaseTransitions != nil && *spec.LeaseTransitions < 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "leaseTransitions"), *spec.LeaseTransitions, "must be greater than or equal to 0"))
	}
	return errs
}

// --- RBAC ---

func validateRules(rules []rbacv1.PolicyRule, clusterScoped bool) field.ErrorList {
	var errs field.ErrorList
	for i, rule := range rules {
		p := field.NewPath("rules").Index(i)
		if len(rule.Verbs) == 0 {
			errs = append(errs, field.Required(p.Child("verbs"), "verbs must contain at least one value"))
		}
		if len(rule.NonResourceURLs) > 0 {
			if !clusterScoped {
				errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), rule.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
			}
			if len(rule.APIGroups) > 0 || len(rule.Resources) > 0 || len(rule.ResourceNames) > 0 {
				errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), rule.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
			}
			continue
		}
		if len(rule.APIGroups) == 0 {
			errs = append(errs, field.Required(p.Child("apiGroups"), "resource rules must supply at least one api group"))
		}
		if len(rule.Resources) == 0 {
			errs = append(errs, field.Required(p.Child("resources"), "resource rules must supply at least one resource"))
		}
	}
	return errs
}

func validateRole(obj, _ runtime.Object) field.ErrorList {
	return validateRules(obj.(*rbacv1.Role).Rules, false)
}

func validateClusterRole(obj, _ runtime.Object) field.ErrorList {
	return validateRules(obj.(*rbacv1.ClusterRole).Rules, true)
}

func validateBinding(ref rbacv1.RoleRef, oldRef *rbacv1.RoleRef, subjects []rbacv1.Subject, clusterScoped bool) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("roleRef")
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(p.Child("apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	switch {
	case ref.Kind == "ClusterRole", ref.Kind == "Role" && !clusterScoped:
	default:
		allowed := []string{"ClusterRole"}
		if !clusterScoped {
			allowed = append(allowed, "Role")
		}
		errs = append(errs, field.NotSupported(p.Child("kind"), ref.Kind, allowed))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	if oldRef != nil && *oldRef != ref {
		errs = append(errs, field.Invalid(p, ref, "cannot change roleRef"))
	}
	for i, s := range subjects {
		sp := field.NewPath("subjects").Index(i)
		if s.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), ""))
		}
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			if s.APIGroup != "" {
				errs = append(errs, field.NotSupported(sp.Child("apiGroup"), s.APIGroup, []string{""}))
			}
			if s.Namespace == "" && clusterScoped {
				errs = append(errs, field.Required(sp.Child("namespace"), ""))
			}
		case rbacv1.UserKind, rbacv1.GroupKind:
			if s.APIGroup != rbacv1.GroupName {
				errs = append(errs, field.NotSupported(sp.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
			}
		default:
			errs = append(errs, field.NotSupported(sp.Child("kind"), s.Kind, []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
		}
	}
	return errs
}

func validateRoleBinding(obj, old runtime.Object) field.ErrorList {
	b := obj.(*rbacv1.RoleBinding)
	var oldRef *rbacv1.RoleRef
	if old != nil {
		oldRef = &old.(*rbacv1.RoleBinding).RoleRef
	}
	return validateBinding(b.RoleRef, oldRef, b.Subjects, false)
}

func validateClusterRoleBinding(obj, old runtime.Object) field.ErrorList {
	b := obj.(*rbacv1.ClusterRoleBinding)
	var oldRef *rbacv1.RoleRef
	if old != nil {
		oldRef = &old.(*rbacv1.ClusterRoleBinding).RoleRef
	}
	return validateBinding(b.RoleRef, oldRef, b.Subjects, true)
}
