package main

// Pods, Services and Deployments: what `kubectl apply -k config/default` creates and what a Pod that mounts a
// workspace's Secret is, so the install documented in docs/deploy.md can be pasted against this server.
//
// They are stored and validated; nothing runs them (no scheduler, kubelet or controllers here): a Pod stays
// Pending, a Service gets no cluster IP, a Deployment makes no ReplicaSet. A test that needs a Deployment's pods runs
// them itself and reports them through deployments/status, as the deployment controller would. The validation carries
// kube's rules (pkg/apis/core/validation, pkg/apis/apps/validation) for the fields a pod spec uses to reach its
// Secrets, volumes, ports and probes, so a manifest kube-apiserver would refuse for those is refused here too.

import (
	"context"
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// --- Pods ---

func preparePod(obj, old runtime.Object) {
	pod := obj.(*corev1.Pod)
	if old != nil {
		pod.Status = old.(*corev1.Pod).Status
		return
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
	defaultPodSpec(&pod.Spec)
}

// defaultPodSpec: kube's v1 defaults for the fields validation below reads.
func defaultPodSpec(spec *corev1.PodSpec) {
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = "default"
	}
	for i := range spec.Containers {
		for j := range spec.Containers[i].Ports {
			if spec.Containers[i].Ports[j].Protocol == "" {
				spec.Containers[i].Ports[j].Protocol = corev1.ProtocolTCP
			}
		}
	}
}

func validatePod(obj, old runtime.Object) field.ErrorList {
	pod := obj.(*corev1.Pod)
	specPath := field.NewPath("spec")
	if old != nil {
		// kube allows only image, activeDeadlineSeconds, tolerations and a few more to change on a running pod.
		previous := old.(*corev1.Pod)
		a, b := pod.Spec.DeepCopy(), previous.Spec.DeepCopy()
		for i := range a.Containers {
			if i < len(b.Containers) {
				a.Containers[i].Image = b.Containers[i].Image
			}
		}
		if !apiequality.Semantic.DeepEqual(a, b) {
			return field.ErrorList{field.Forbidden(specPath, "pod updates may not change fields other than `spec.containers[*].image`")}
		}
	}
	return validatePodSpec(&pod.Spec, specPath)
}

func validatePodSpec(spec *corev1.PodSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	volumes := sets.New[string]()
	for i, v := range spec.Volumes {
		vp := p.Child("volumes").Index(i)
		errs = append(errs, dnsLabel(vp.Child("name"), v.Name)...)
		if volumes.Has(v.Name) {
			errs = append(errs, field.Duplicate(vp.Child("name"), v.Name))
		}
		volumes.Insert(v.Name)
		if n := setPointers(v.VolumeSource); n == 0 {
			errs = append(errs, field.Required(vp, "must specify a volume type"))
		} else if n > 1 {
			errs = append(errs, field.Forbidden(vp, "may not specify more than 1 volume type"))
		}
		if v.Secret != nil {
			if v.Secret.SecretName == "" {
				errs = append(errs, field.Required(vp.Child("secret", "secretName"), ""))
			}
			errs = append(errs, validateKeyToPaths(v.Secret.Items, vp.Child("secret", "items"))...)
			errs = append(errs, validateMode(v.Secret.DefaultMode, vp.Child("secret", "defaultMode"))...)
		}
		if v.ConfigMap != nil {
			if v.ConfigMap.Name == "" {
				errs = append(errs, field.Required(vp.Child("configMap", "name"), ""))
			}
			errs = append(errs, validateKeyToPaths(v.ConfigMap.Items, vp.Child("configMap", "items"))...)
			errs = append(errs, validateMode(v.ConfigMap.DefaultMode, vp.Child("configMap", "defaultMode"))...)
		}
	}
	switch spec.RestartPolicy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	default:
		errs = append(errs, field.NotSupported(p.Child("restartPolicy"), spec.RestartPolicy, []string{"Always", "OnFailure", "Never"}))
	}
	if len(spec.Containers) == 0 {
		errs = append(errs, field.Required(p.Child("containers"), ""))
	}
	names := sets.New[string]()
	for i := range spec.InitContainers {
		errs = append(errs, validateContainer(&spec.InitContainers[i], p.Child("initContainers").Index(i), volumes, names)...)
	}
	for i := range spec.Containers {
		errs = append(errs, validateContainer(&spec.Containers[i], p.Child("containers").Index(i), volumes, names)...)
	}
	if spec.ServiceAccountName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(spec.ServiceAccountName) {
			errs = append(errs, field.Invalid(p.Child("serviceAccountName"), spec.ServiceAccountName, msg))
		}
	}
	return errs
}

func validateContainer(c *corev1.Container, p *field.Path, volumes, names sets.Set[string]) field.ErrorList {
	errs := dnsLabel(p.Child("name"), c.Name)
	if names.Has(c.Name) {
		errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
	}
	names.Insert(c.Name)
	if strings.TrimSpace(c.Image) == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	}
	ports := sets.New[string]()
	for i, port := range c.Ports {
		pp := p.Child("ports").Index(i)
		if port.Name != "" {
			for _, msg := range validation.IsValidPortName(port.Name) {
				errs = append(errs, field.Invalid(pp.Child("name"), port.Name, msg))
			}
			if ports.Has(port.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
			}
			ports.Insert(port.Name)
		}
		for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
			errs = append(errs, field.Invalid(pp.Child("containerPort"), port.ContainerPort, msg))
		}
	}
	for i, env := range c.Env {
		ep := p.Child("env").Index(i)
		if env.Name == "" {
			errs = append(errs, field.Required(ep.Child("name"), ""))
		}
		for _, msg := range validation.IsEnvVarName(env.Name) {
			errs = append(errs, field.Invalid(ep.Child("name"), env.Name, msg))
		}
		if env.ValueFrom == nil {
			continue
		}
		if env.Value != "" {
			errs = append(errs, field.Invalid(ep.Child("valueFrom"), "", "may not be specified when `value` is not empty"))
		}
		if setPointers(*env.ValueFrom) != 1 {
			errs = append(errs, field.Invalid(ep.Child("valueFrom"), "", "must specify exactly one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
		}
		if ref := env.ValueFrom.SecretKeyRef; ref != nil {
			errs = append(errs, required(ep.Child("valueFrom", "secretKeyRef", "name"), ref.Name)...)
			errs = append(errs, required(ep.Child("valueFrom", "secretKeyRef", "key"), ref.Key)...)
		}
		if ref := env.ValueFrom.ConfigMapKeyRef; ref != nil {
			errs = append(errs, required(ep.Child("valueFrom", "configMapKeyRef", "name"), ref.Name)...)
			errs = append(errs, required(ep.Child("valueFrom", "configMapKeyRef", "key"), ref.Key)...)
		}
		if ref := env.ValueFrom.FieldRef; ref != nil {
			errs = append(errs, required(ep.Child("valueFrom", "fieldRef", "fieldPath"), ref.FieldPath)...)
		}
	}
	for i, from := range c.EnvFrom {
		fp := p.Child("envFrom").Index(i)
		if from.Prefix != "" {
			for _, msg := range validation.IsEnvVarName(from.Prefix) {
				errs = append(errs, field.Invalid(fp.Child("prefix"), from.Prefix, msg))
			}
		}
		switch {
		case from.SecretRef != nil && from.ConfigMapRef != nil, from.SecretRef == nil && from.ConfigMapRef == nil:
			errs = append(errs, field.Invalid(fp, "", "must specify one of: `configMapRef` or `secretRef`"))
		case from.SecretRef != nil:
			errs = append(errs, required(fp.Child("secretRef", "name"), from.SecretRef.Name)...)
		default:
			errs = append(errs, required(fp.Child("configMapRef", "name"), from.ConfigMapRef.Name)...)
		}
	}
	mounts := sets.New[string]()
	for i, mount := range c.VolumeMounts {
		mp := p.Child("volumeMounts").Index(i)
		if !volumes.Has(mount.Name) {
			errs = append(errs, field.NotFound(mp.Child("name"), mount.Name))
		}
		if mount.MountPath == "" {
			errs = append(errs, field.Required(mp.Child("mountPath"), ""))
		}
		if mounts.Has(mount.MountPath) {
			errs = append(errs, field.Invalid(mp.Child("mountPath"), mount.MountPath, "must be unique"))
		}
		mounts.Insert(mount.MountPath)
		if strings.Contains(mount.SubPath, "..") || strings.HasPrefix(mount.SubPath, "/") {
			errs = append(errs, field.Invalid(mp.Child("subPath"), mount.SubPath, "must be a relative path not containing '..'"))
		}
	}
	for name, probe := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
		errs = append(errs, validateProbe(probe, p.Child(name), ports)...)
	}
	return errs
}

func validateProbe(probe *corev1.Probe, p *field.Path, ports sets.Set[string]) field.ErrorList {
	if probe == nil {
		return nil
	}
	if setPointers(probe.ProbeHandler) != 1 {
		return field.ErrorList{field.Required(p, "must specify exactly one handler type")}
	}
	var port *intstr.IntOrString
	switch {
	case probe.HTTPGet != nil:
		port = &probe.HTTPGet.Port
	case probe.TCPSocket != nil:
		port = &probe.TCPSocket.Port
	}
	if port == nil {
		return nil
	}
	if port.Type == intstr.String && !ports.Has(port.StrVal) {
		// kube: a named port must be one of the container's ports.
		return field.ErrorList{field.Invalid(p.Child("port"), port.StrVal, "must contain at least one port definition with this name")}
	}
	if port.Type == intstr.Int {
		var errs field.ErrorList
		for _, msg := range validation.IsValidPortNum(port.IntValue()) {
			errs = append(errs, field.Invalid(p.Child("port"), port.IntValue(), msg))
		}
		return errs
	}
	return nil
}

func validateKeyToPaths(items []corev1.KeyToPath, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, item := range items {
		ip := p.Index(i)
		errs = append(errs, required(ip.Child("key"), item.Key)...)
		if item.Path == "" {
			errs = append(errs, field.Required(ip.Child("path"), ""))
		} else if strings.HasPrefix(item.Path, "/") || sets.New(strings.Split(item.Path, "/")...).Has("..") {
			errs = append(errs, field.Invalid(ip.Child("path"), item.Path, "must be a relative path not containing '..'"))
		}
		errs = append(errs, validateMode(item.Mode, ip.Child("mode"))...)
	}
	return errs
}

func validateMode(mode *int32, p *field.Path) field.ErrorList {
	if mode != nil && (*mode < 0 || *mode > 0o777) {
		return field.ErrorList{field.Invalid(p, *mode, "must be a number between 0 and 0777 (octal), both inclusive")}
	}
	return nil
}

func dnsLabel(p *field.Path, value string) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(p, value, msg))
	}
	return errs
}

func required(p *field.Path, value string) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return nil
}

// setPointers counts the non-nil pointer fields of a one-of struct (a volume source, an env source, a probe handler).
func setPointers(oneOf any) int {
	v := reflect.ValueOf(oneOf)
	n := 0
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			n++
		}
	}
	return n
}

// --- Services ---

func prepareService(obj, old runtime.Object) {
	svc := obj.(*corev1.Service)
	if old != nil {
		svc.Status = old.(*corev1.Service).Status
		svc.Spec.ClusterIP = old.(*corev1.Service).Spec.ClusterIP
		svc.Spec.ClusterIPs = old.(*corev1.Service).Spec.ClusterIPs
	}
	if svc.Spec.Type == "" {
		svc.Spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range svc.Spec.Ports {
		port := &svc.Spec.Ports[i]
		if port.Protocol == "" {
			port.Protocol = corev1.ProtocolTCP
		}
		if port.TargetPort.Type == intstr.Int && port.TargetPort.IntVal == 0 && port.TargetPort.StrVal == "" {
			port.TargetPort = intstr.FromInt32(port.Port)
		}
	}
}

func validateService(obj, _ runtime.Object) field.ErrorList {
	spec := obj.(*corev1.Service).Spec
	p := field.NewPath("spec")
	var errs field.ErrorList
	switch spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName:
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), spec.Type, []string{"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}))
	}
	if spec.Type != corev1.ServiceTypeExternalName && len(spec.Ports) == 0 && spec.ClusterIP != corev1.ClusterIPNone {
		errs = append(errs, field.Required(p.Child("ports"), ""))
	}
	names := sets.New[string]()
	for i, port := range spec.Ports {
		pp := p.Child("ports").Index(i)
		if len(spec.Ports) > 1 && port.Name == "" {
			errs = append(errs, field.Required(pp.Child("name"), ""))
		}
		if port.Name != "" {
			errs = append(errs, dnsLabel(pp.Child("name"), port.Name)...)
			if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
			}
			names.Insert(port.Name)
		}
		for _, msg := range validation.IsValidPortNum(int(port.Port)) {
			errs = append(errs, field.Invalid(pp.Child("port"), port.Port, msg))
		}
	}
	for k, v := range spec.Selector {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, field.Invalid(p.Child("selector").Key(k), k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(p.Child("selector").Key(k), v, msg))
		}
	}
	return errs
}

// --- Deployments ---

// prepareDeployment: the status is written only through deployments/status, and metadata.generation counts the
// spec's changes (kubectl rollout status compares it with status.observedGeneration).
func prepareDeployment(obj, old runtime.Object) {
	d := obj.(*appsv1.Deployment)
	if d.Spec.Replicas == nil {
		one := int32(1)
		d.Spec.Replicas = &one
	}
	if d.Spec.Strategy.Type == "" {
		d.Spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		deadline := int32(600)
		d.Spec.ProgressDeadlineSeconds = &deadline
	}
	defaultPodSpec(&d.Spec.Template.Spec)
	if old == nil {
		d.Status = appsv1.DeploymentStatus{}
		d.Generation = 1
		return
	}
	previous := old.(*appsv1.Deployment)
	d.Status = previous.Status
	d.Generation = previous.Generation
	if !apiequality.Semantic.DeepEqual(d.Spec, previous.Spec) {
		d.Generation++
	}
}

func validateDeployment(obj, old runtime.Object) field.ErrorList {
	d := obj.(*appsv1.Deployment)
	p := field.NewPath("spec")
	var errs field.ErrorList
	if d.Spec.Replicas != nil && *d.Spec.Replicas < 0 {
		errs = append(errs, field.Invalid(p.Child("replicas"), *d.Spec.Replicas, "must be greater than or equal to 0"))
	}
	if d.Spec.Selector == nil || (len(d.Spec.Selector.MatchLabels) == 0 && len(d.Spec.Selector.MatchExpressions) == 0) {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else if selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil {
		errs = append(errs, field.Invalid(p.Child("selector"), d.Spec.Selector, err.Error()))
	} else if !selector.Matches(labels.Set(d.Spec.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), d.Spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	if old != nil && !apiequality.Semantic.DeepEqual(d.Spec.Selector, old.(*appsv1.Deployment).Spec.Selector) {
		errs = append(errs, field.Invalid(p.Child("selector"), d.Spec.Selector, "field is immutable"))
	}
	if d.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(p.Child("template", "spec", "restartPolicy"), d.Spec.Template.Spec.RestartPolicy, []string{"Always"}))
	}
	return append(errs, validatePodSpec(&d.Spec.Template.Spec, p.Child("template", "spec"))...)
}

// deploymentStatus is the deployments/status subresource: only the status changes through it.
type deploymentStatus struct {
	store *genericregistry.Store
}

var (
	_ rest.Getter              = &deploymentStatus{}
	_ rest.Updater             = &deploymentStatus{}
	_ rest.ResetFieldsStrategy = &deploymentStatusStrategy{}
	_ rest.RESTUpdateStrategy  = &deploymentStatusStrategy{}
)

func newDeploymentStatus(main *store) *deploymentStatus {
	s := *main.Store
	s.UpdateStrategy = &deploymentStatusStrategy{strategy: main.Store.UpdateStrategy.(*strategy)}
	s.ResetFieldsStrategy = s.UpdateStrategy.(*deploymentStatusStrategy)
	return &deploymentStatus{store: &s}
}

func (r *deploymentStatus) New() runtime.Object { return &appsv1.Deployment{} }
func (r *deploymentStatus) Destroy()            {}
func (r *deploymentStatus) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}
func (r *deploymentStatus) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// A status update never creates the object (kube's subresource stores pass false too).
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}
func (r *deploymentStatus) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

type deploymentStatusStrategy struct {
	*strategy
}

func (s *deploymentStatusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	d, previous := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	d.Spec = previous.Spec
	d.Labels, d.Annotations, d.Finalizers, d.OwnerReferences = previous.Labels, previous.Annotations, previous.Finalizers, previous.OwnerReferences
	d.Generation = previous.Generation
}

func (s *deploymentStatusStrategy) ValidateUpdate(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	status := obj.(*appsv1.Deployment).Status
	p := field.NewPath("status")
	var errs field.ErrorList
	for name, n := range map[string]int32{"replicas": status.Replicas, "updatedReplicas": status.UpdatedReplicas,
		"readyReplicas": status.ReadyReplicas, "availableReplicas": status.AvailableReplicas} {
		if n < 0 {
			errs = append(errs, field.Invalid(p.Child(name), n, "must be greater than or equal to 0"))
		}
	}
	if status.AvailableReplicas > status.Replicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), status.AvailableReplicas, "cannot be greater than status.replicas"))
	}
	return errs
}

func (s *deploymentStatusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(appsv1.SchemeGroupVersion.String()): fieldpath.NewSet(fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("metadata", "labels")),
	}
}
