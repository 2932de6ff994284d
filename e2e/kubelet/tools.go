//go:build tools

// Package kubelet pins the kubelet the end-to-end tests run against
// dockercri: Kubernetes 1.36, built with `go build k8s.io/kubernetes/cmd/kubelet`
// from this module (e2e/env/tools.sh does it). It is a module of its own so
// that Kubernetes' dependencies never reach the shim's or e2e's go.mod.
package kubelet

import _ "k8s.io/kubernetes/cmd/kubelet"
