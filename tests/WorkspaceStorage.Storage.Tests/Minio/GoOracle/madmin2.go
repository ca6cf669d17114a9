//go:build !madmin3

// madmin-go 2.0.7: attach and detach return only an error; service accounts have no name, description or expiration.
package main

import (
	"context"

	"github.com/minio/madmin-go"
)

func attachPolicy(ctx context.Context, c *madmin.AdminClient, r madmin.PolicyAssociationReq) (interface{}, error) {
	return nil, c.AttachPolicy(ctx, r)
}

func detachPolicy(ctx context.Context, c *madmin.AdminClient, r madmin.PolicyAssociationReq) (interface{}, error) {
	return nil, c.DetachPolicy(ctx, r)
}

func addServiceAccount(ctx context.Context, c *madmin.AdminClient, a args) (interface{}, error) {
	return c.AddServiceAccount(ctx, madmin.AddServiceAccountReq{Policy: a.Policy, TargetUser: a.TargetUser, AccessKey: a.AccessKey, SecretKey: a.SecretKey})
}

func updateServiceAccount(ctx context.Context, c *madmin.AdminClient, a args) error {
	return c.UpdateServiceAccount(ctx, a.AccessKey, madmin.UpdateServiceAccountReq{NewPolicy: a.NewPolicy, NewSecretKey: a.NewSecret, NewStatus: a.NewStatus})
}
