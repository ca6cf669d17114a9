//go:build madmin3

// madmin-go 3.x: attach and detach return the server's summary; service accounts carry name, description and expiration.
package main

import (
	"context"

	"github.com/minio/madmin-go"
)

func attachPolicy(ctx context.Context, c *madmin.AdminClient, r madmin.PolicyAssociationReq) (interface{}, error) {
	return c.AttachPolicy(ctx, r)
}

func detachPolicy(ctx context.Context, c *madmin.AdminClient, r madmin.PolicyAssociationReq) (interface{}, error) {
	return c.DetachPolicy(ctx, r)
}

func addServiceAccount(ctx context.Context, c *madmin.AdminClient, a args) (interface{}, error) {
	return c.AddServiceAccount(ctx, madmin.AddServiceAccountReq{Policy: a.Policy, TargetUser: a.TargetUser, AccessKey: a.AccessKey,
		SecretKey: a.SecretKey, Name: a.Name, Description: a.Description, Expiration: a.Expiration})
}

func updateServiceAccount(ctx context.Context, c *madmin.AdminClient, a args) error {
	return c.UpdateServiceAccount(ctx, a.AccessKey, madmin.UpdateServiceAccountReq{NewPolicy: a.NewPolicy, NewSecretKey: a.NewSecret,
		NewStatus: a.NewStatus, NewName: a.NewName, NewDescription: a.NewDescription, NewExpiration: a.NewExpiration})
}
