//go:build tools

// Package nodee2e pins Kubernetes' node e2e suite (test/e2e_node, its
// [NodeConformance] specs) at the kubelet's version, 1.36, built as a test
// binary with `go test -c k8s.io/kubernetes/test/e2e_node` from this module
// (e2e/env/node-e2e.sh). A module of its own, with the kubelet module's
// replace lines, so that the suite's dependencies reach no other go.mod.
package nodee2e

import _ "k8s.io/kubernetes/test/e2e_node"
