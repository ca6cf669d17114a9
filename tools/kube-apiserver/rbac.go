package main

// Authentication by bearer token (tokens.csv, k8s.io/apiserver's tokenfile format) and authorization by the RBAC
// objects stored here, evaluated as kube-apiserver's RBAC authorizer does (k8s.io/kubernetes/plugin/pkg/auth/
// authorizer/rbac, not packaged): system:masters is always allowed; otherwise a request is allowed when a
// ClusterRoleBinding, or a RoleBinding in the request's namespace, binds a subject the user matches to a rule that
// covers the verb, API group, resource/subresource and name, or the non-resource URL. Anything else gets 403.
//
// Not done here: aggregated ClusterRoles (aggregationRule), and the escalation check on creating Roles and bindings.

import (
	"context"
	"fmt"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/anonymous"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	unionauthn "k8s.io/apiserver/pkg/authentication/request/union"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	unionauthz "k8s.io/apiserver/pkg/authorization/union"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"

	corev1 "k8s.io/api/core/v1"
)

// newAuthenticator: a bearer token from tokens.csv, else anonymous (which RBAC then allows only what
// system:public-info-viewer grants: /healthz, /livez, /readyz, /version). Authenticated users get system:authenticated.
func newAuthenticator(tokenFile string) (authenticator.Request, error) {
	tokens, err := tokenfile.NewCSV(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("token file: %v", err)
	}
	authenticated := group.NewAuthenticatedGroupAdder(bearertoken.New(tokens))
	return unionauthn.NewFailOnError(authenticated, anonymous.NewAuthenticator(nil)), nil
}

func newAuthorizer(factory informers.SharedInformerFactory) authorizer.Authorizer {
	rbac := factory.Rbac().V1()
	r := &rbacAuthorizer{
		roles:               rbac.Roles().Lister(),
		roleBindings:        rbac.RoleBindings().Lister(),
		clusterRoles:        rbac.ClusterRoles().Lister(),
		clusterRoleBindings: rbac.ClusterRoleBindings().Lister(),
	}
	// Registering the informers before the server starts lets the generic server start them and hold /readyz until
	// they have synced.
	rbac.Roles().Informer()
	rbac.RoleBindings().Informer()
	rbac.ClusterRoles().Informer()
	rbac.ClusterRoleBindings().Informer()
	return unionauthz.New(authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup), r)
}

type rbacAuthorizer struct {
	roles               rbaclisters.RoleLister
	roleBindings        rbaclisters.RoleBindingLister
	clusterRoles        rbaclisters.ClusterRoleLister
	clusterRoleBindings rbaclisters.ClusterRoleBindingLister
}

func (a *rbacAuthorizer) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	u := attrs.GetUser()
	if u == nil {
		return authorizer.DecisionNoOpinion, "no user", nil
	}
	if crbs, err := a.clusterRoleBindings.List(labels.Everything()); err == nil {
		for _, b := range crbs {
			if bindsUser(u, b.Subjects, "") && a.allows(attrs, b.RoleRef, "") {
				return authorizer.DecisionAllow, "", nil
			}
		}
	}
	if ns := attrs.GetNamespace(); ns != "" {
		if rbs, err := a.roleBindings.RoleBindings(ns).List(labels.Everything()); err == nil {
			for _, b := range rbs {
				if bindsUser(u, b.Subjects, ns) && a.allows(attrs, b.RoleRef, ns) {
					return authorizer.DecisionAllow, "", nil
				}
			}
		}
	}
	// kube-apiserver's own RBAC authorizer gives no reason either; the 403 message names user, verb and resource.
	return authorizer.DecisionNoOpinion, "", nil
}

func (a *rbacAuthorizer) allows(attrs authorizer.Attributes, ref rbacv1.RoleRef, namespace string) bool {
	var rules []rbacv1.PolicyRule
	switch ref.Kind {
	case "ClusterRole":
		role, err := a.clusterRoles.Get(ref.Name)
		if err != nil {
			return false
		}
		rules = role.Rules
	case "Role":
		if namespace == "" {
			return false
		}
		role, err := a.roles.Roles(namespace).Get(ref.Name)
		if err != nil {
			return false
		}
		rules = role.Rules
	default:
		return false
	}
	for i := range rules {
		if ruleAllows(attrs, &rules[i]) {
			return true
		}
	}
	return false
}

func bindsUser(u user.Info, subjects []rbacv1.Subject, bindingNamespace string) bool {
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			if u.GetName() == s.Name {
				return true
			}
		case rbacv1.GroupKind:
			for _, g := range u.GetGroups() {
				if g == s.Name {
					return true
				}
			}
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				ns = bindingNamespace
			}
			if ns != "" && u.GetName() == serviceaccount.MakeUsername(ns, s.Name) {
				return true
			}
		}
	}
	return false
}

func ruleAllows(attrs authorizer.Attributes, rule *rbacv1.PolicyRule) bool {
	if !matches(rule.Verbs, attrs.GetVerb()) {
		return false
	}
	if !attrs.IsResourceRequest() {
		path := attrs.GetPath()
		for _, u := range rule.NonResourceURLs {
			if u == rbacv1.NonResourceAll || u == path || strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimRight(u, "*")) {
				return true
			}
		}
		return false
	}
	if !matches(rule.APIGroups, attrs.GetAPIGroup()) {
		return false
	}
	resource := attrs.GetResource()
	if sub := attrs.GetSubresource(); sub != "" {
		resource += "/" + sub
	}
	resourceMatches := false
	for _, r := range rule.Resources {
		if r == rbacv1.ResourceAll || r == resource || attrs.GetSubresource() != "" && r == "*/"+attrs.GetSubresource() {
			resourceMatches = true
			break
		}
	}
	if !resourceMatches {
		return false
	}
	return len(rule.ResourceNames) == 0 || matches(rule.ResourceNames, attrs.GetName()) && attrs.GetName() != ""
}

func matches(set []string, value string) bool {
	for _, s := range set {
		if s == "*" || s == value {
			return true
		}
	}
	return false
}

// bootstrap creates what kube-apiserver's bootstrap controllers create and this project relies on: the namespaces
// default, kube-system, kube-public and kube-node-lease, and the ClusterRoles system:public-info-viewer and
// system:discovery bound to everyone / every authenticated user (so kubectl's discovery works for any token and the
// health endpoints answer anonymous probes).
func bootstrap(hook genericapiserver.PostStartHookContext) error {
	client, err := kubernetes.NewForConfig(hook.LoopbackClientConfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(hook.Context, 30*time.Second)
	defer cancel()
	create := func(what string, call func() error) error {
		for {
			err := call()
			if err == nil || apierrors.IsAlreadyExists(err) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("bootstrap %s: %v", what, err)
			case <-time.After(100 * time.Millisecond): // the stores may not be ready at the very first call
			}
		}
	}
	for _, name := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := create("namespace "+name, func() error {
			_, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
			return err
		}); err != nil {
			return err
		}
	}
	bootstrapLabels := map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}
	roles := []struct {
		name   string
		urls   []string
		groups []string
	}{
		{"system:public-info-viewer", []string{"/healthz", "/livez", "/readyz", "/version", "/version/"},
			[]string{user.AllAuthenticated, user.AllUnauthenticated}},
		{"system:discovery", []string{"/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"},
			[]string{user.AllAuthenticated}},
	}
	for _, r := range roles {
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: r.name, Labels: bootstrapLabels},
			Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: r.urls}}}
		binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: r.name, Labels: bootstrapLabels},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r.name}}
		for _, g := range r.groups {
			binding.Subjects = append(binding.Subjects, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: g})
		}
		if err := create("clusterrole "+r.name, func() error {
			_, err := client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
			return err
		}); err != nil {
			return err
		}
		if err := create("clusterrolebinding "+r.name, func() error {
			_, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}
