package main

// OpenAPI definitions: the generic server needs one for every type it serves (the field manager builds server-side
// apply's typed schema from them; without them installing a group fails with "OpenAPIV3 config must not be nil").
// apiextensions-apiserver ships its own (its types and apimachinery's); the built-in types' are generated from
// Debian's k8s.io/api by kube-openapi's openapi-gen at build time (scripts/install-kube-apiserver.sh) into the
// package builtinopenapi, which is not kept in the repository (about 750 kB, derived from the packaged sources).

import (
	builtinopenapi "wso-kube-apiserver/builtinopenapi"

	extensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/apiserver/pkg/util/openapi"
	"k8s.io/kube-openapi/pkg/common"
)

var openAPIDefinitions = openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(
	func(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
		definitions := extensionsopenapi.GetOpenAPIDefinitions(ref)
		for name, definition := range builtinopenapi.GetOpenAPIDefinitions(ref) {
			definitions[name] = definition
		}
		return definitions
	})
