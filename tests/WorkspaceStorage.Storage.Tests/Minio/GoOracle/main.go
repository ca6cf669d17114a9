// Command madmin-oracle drives the official MinIO admin client, madmin-go, so that the C# client can be compared with
// it request by request. One program for both versions the tests build: madmin-go 2.0.7 (Debian bookworm's, with the
// system's Go) and madmin-go 3.x (Debian trixie's, the library today's mc is built with, with trixie's Go, -tags
// madmin3). Both are installed at the import path github.com/minio/madmin-go; the calls whose signatures differ live
// in madmin2.go and madmin3.go.
//
//	madmin-oracle encrypt <password>   stdin plaintext  -> stdout madmin.EncryptData
//	madmin-oracle decrypt <password>   stdin ciphertext -> stdout madmin.DecryptData
//	madmin-oracle admin <host:port> <accessKey> <secretKey> <operation> <json arguments>
//	                                   calls one AdminClient method; prints its result as JSON
//
// Built by the tests in GOPATH mode, offline: GO111MODULE=off GOPROXY=off GOPATH=<tmp>:<gocode> go build [-tags madmin3].
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/minio/madmin-go"
)

// The arguments of every operation; madmin2.go ignores the service-account options 2.0.7 does not have.
type args struct {
	AccessKey      string          `json:"accessKey"`
	SecretKey      string          `json:"secretKey"`
	Status         string          `json:"status"`
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	Expiration     *time.Time      `json:"expiration"`
	Policy         json.RawMessage `json:"policy"`
	Policies       []string        `json:"policies"`
	User           string          `json:"user"`
	Group          string          `json:"group"`
	Users          []string        `json:"users"`
	Groups         []string        `json:"groups"`
	Members        []string        `json:"members"`
	IsRemove       bool            `json:"isRemove"`
	IsGroup        bool            `json:"isGroup"`
	Entity         string          `json:"entity"`
	TargetUser     string          `json:"targetUser"`
	NewPolicy      json.RawMessage `json:"newPolicy"`
	NewSecret      string          `json:"newSecretKey"`
	NewStatus      string          `json:"newStatus"`
	NewName        string          `json:"newName"`
	NewDescription string          `json:"newDescription"`
	NewExpiration  *time.Time      `json:"newExpiration"`
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: encrypt|decrypt <password> | admin <host:port> <ak> <sk> <op> <json>"))
	}
	switch os.Args[1] {
	case "encrypt":
		in, err := io.ReadAll(os.Stdin)
		if err != nil {
			fail(err)
		}
		out, err := madmin.EncryptData(os.Args[2], in)
		if err != nil {
			fail(err)
		}
		os.Stdout.Write(out)
	case "decrypt":
		in, err := io.ReadAll(os.Stdin)
		if err != nil {
			fail(err)
		}
		out, err := madmin.DecryptData(os.Args[2], bytes.NewReader(in))
		if err != nil {
			fail(err)
		}
		os.Stdout.Write(out)
	case "admin":
		if len(os.Args) != 7 {
			fail(fmt.Errorf("usage: admin <host:port> <ak> <sk> <op> <json>"))
		}
		var a args
		if err := json.Unmarshal([]byte(os.Args[6]), &a); err != nil {
			fail(err)
		}
		client, err := madmin.New(os.Args[2], os.Args[3], os.Args[4], false)
		if err != nil {
			fail(err)
		}
		result, err := run(context.Background(), client, os.Args[5], a)
		if err != nil {
			fail(err)
		}
		out, _ := json.Marshal(result)
		os.Stdout.Write(out)
	default:
		fail(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}

func run(ctx context.Context, c *madmin.AdminClient, op string, a args) (interface{}, error) {
	switch op {
	case "add-user":
		return nil, c.AddUser(ctx, a.AccessKey, a.SecretKey)
	case "remove-user":
		return nil, c.RemoveUser(ctx, a.AccessKey)
	case "list-users":
		return c.ListUsers(ctx)
	case "user-info":
		return c.GetUserInfo(ctx, a.AccessKey)
	case "set-user-status":
		return nil, c.SetUserStatus(ctx, a.AccessKey, madmin.AccountStatus(a.Status))
	case "add-canned-policy":
		return nil, c.AddCannedPolicy(ctx, a.Name, a.Policy)
	case "remove-canned-policy":
		return nil, c.RemoveCannedPolicy(ctx, a.Name)
	case "info-canned-policy":
		return c.InfoCannedPolicyV2(ctx, a.Name)
	case "list-canned-policies":
		return c.ListCannedPolicies(ctx)
	case "attach-policy":
		return attachPolicy(ctx, c, madmin.PolicyAssociationReq{Policies: a.Policies, User: a.User, Group: a.Group})
	case "detach-policy":
		return detachPolicy(ctx, c, madmin.PolicyAssociationReq{Policies: a.Policies, User: a.User, Group: a.Group})
	case "set-policy":
		return nil, c.SetPolicy(ctx, a.Name, a.Entity, a.IsGroup)
	case "policy-entities":
		return c.GetPolicyEntities(ctx, madmin.PolicyEntitiesQuery{Users: a.Users, Groups: a.Groups, Policy: a.Policies})
	case "update-group-members":
		return nil, c.UpdateGroupMembers(ctx, madmin.GroupAddRemove{Group: a.Group, Members: a.Members, IsRemove: a.IsRemove}) // no Status, as mc sends it
	case "group-info":
		return c.GetGroupDescription(ctx, a.Group)
	case "list-groups":
		return c.ListGroups(ctx)
	case "add-service-account":
		return addServiceAccount(ctx, c, a)
	case "update-service-account":
		return nil, updateServiceAccount(ctx, c, a)
	case "info-service-account":
		return c.InfoServiceAccount(ctx, a.AccessKey)
	case "list-service-accounts":
		return c.ListServiceAccounts(ctx, a.User)
	case "delete-service-account":
		return nil, c.DeleteServiceAccount(ctx, a.AccessKey)
	case "server-info":
		return c.ServerInfo(ctx)
	}
	return nil, fmt.Errorf("unknown operation %q", op)
}
