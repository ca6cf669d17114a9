package main

// tokens.csv and the kubeconfigs written for it: the admin (group system:masters: every request allowed) and one
// per --service-accounts entry, whose user name and groups are what kube-apiserver gives a service account's token
// (system:serviceaccount:<namespace>:<name>; system:serviceaccounts, system:serviceaccounts:<namespace>), so that
// RoleBindings and ClusterRoleBindings naming the ServiceAccount apply to it. Tokens are random, generated once and
// kept (mode 0600), so a restarted server accepts the kubeconfigs it wrote before; they are never logged.

import (
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const adminUser = "admin"

type serviceAccount struct{ namespace, name string }

func (s serviceAccount) user() string { return serviceaccount.MakeUsername(s.namespace, s.name) }

// tokens maps a user name to its token; file is the CSV the authenticator reads.
type tokens struct {
	file     string
	byUser   map[string]string
	accounts []serviceAccount
}

// ensureTokens reads tokens.csv (token,user,uid,"group,...") and adds a row for the admin and for every service
// account that has none, rewriting the file only when it grew.
func ensureTokens(file string, accounts []serviceAccount) (*tokens, error) {
	t := &tokens{file: file, byUser: map[string]string{}, accounts: accounts}
	var rows [][]string
	if data, err := os.ReadFile(file); err == nil {
		r := csv.NewReader(strings.NewReader(string(data)))
		r.FieldsPerRecord = -1
		rows, err = r.ReadAll()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		for _, row := range rows {
			if len(row) >= 2 {
				t.byUser[row[1]] = row[0]
			}
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	added := false
	add := func(name, uid string, groups ...string) error {
		if _, ok := t.byUser[name]; ok {
			return nil
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		token := hex.EncodeToString(b)
		t.byUser[name] = token
		rows = append(rows, []string{token, name, uid, strings.Join(groups, ",")})
		added = true
		return nil
	}
	if err := add(adminUser, adminUser, user.SystemPrivilegedGroup); err != nil {
		return nil, err
	}
	for _, sa := range accounts {
		if err := add(sa.user(), sa.user(), serviceaccount.AllServiceAccountsGroup, serviceaccount.MakeNamespaceGroupName(sa.namespace)); err != nil {
			return nil, err
		}
	}
	if added {
		var b strings.Builder
		w := csv.NewWriter(&b)
		if err := w.WriteAll(rows); err != nil {
			return nil, err
		}
		if err := writeFileAtomically(file, []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// writeKubeconfigs writes kubeconfig (admin) and kubeconfig-<namespace>-<name> per service account, each trusting
// the serving certificate's CA and carrying its token.
func writeKubeconfigs(dataDir string, port int, t *tokens) error {
	ca, err := os.ReadFile(filepath.Join(dataDir, "apiserver.crt"))
	if err != nil {
		return fmt.Errorf("serving certificate: %v", err)
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", port)
	write := func(file, userName, token, namespace string) error {
		config := clientcmdapi.NewConfig()
		config.Clusters["wso"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
		config.AuthInfos[userName] = &clientcmdapi.AuthInfo{Token: token}
		config.Contexts["wso"] = &clientcmdapi.Context{Cluster: "wso", AuthInfo: userName, Namespace: namespace}
		config.CurrentContext = "wso"
		data, err := clientcmd.Write(*config)
		if err != nil {
			return err
		}
		return writeFileAtomically(file, data, 0o600)
	}
	if err := write(filepath.Join(dataDir, "kubeconfig"), adminUser, t.byUser[adminUser], "default"); err != nil {
		return err
	}
	for _, sa := range t.accounts {
		file := filepath.Join(dataDir, fmt.Sprintf("kubeconfig-%s-%s", sa.namespace, sa.name))
		if err := write(file, sa.user(), t.byUser[sa.user()], sa.namespace); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomically(file string, data []byte, mode os.FileMode) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
