// Package e2e holds dockercri's end-to-end tests: each starts the real
// bin/dockercri (e2e/framework) against the private dockerd, registries and
// CNI plugins that e2e/env/up.sh runs, and drives it as the kubelet, crictl,
// critest or a hostile client would. It is a Go module of its own, so that
// the test tools' dependencies (cri-tools, client-go) never reach the
// product's go.mod; it may import the product's packages, never the other way
// round (TestPackageBoundaries in shim checks that side).
package e2e
