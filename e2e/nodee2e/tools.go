//go:build tools

// Package nodee2e pins Kubernetes' node e2e suite (test/e2e_node, its
// [NodeConformance] specs) at the kubelet's version, 1.36, built as a test
// binary with `go test -c k8s.io/kubernetes/test/e2e_node` from this module
// (e2e/env/node-e2e.sh), with the programs that go with it at the same
// versions: agnhost (the suite's many-purpose test image), kubectl, and the
// ginkgo CLI that runs the suite's specs in parallel processes. A
// module of its own, with the kubelet module's replace lines, so that the
// suite's dependencies reach no other go.mod.
package nodee2e

import (
	_ "github.com/onsi/ginkgo/v2/ginkgo"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/test/e2e_node"
	_ "k8s.io/kubernetes/test/images/agnhost"
)
