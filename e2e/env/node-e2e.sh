#!/usr/bin/env bash
# Builds Kubernetes' node e2e suite (k8s.io/kubernetes/test/e2e_node at the
# kubelet's version, pinned in e2e/nodee2e/go.mod, a module of its own) into
# e2e/bin/e2e_node.test, the binary whose [NodeConformance] specs certify a
# node's container runtime, and from the same module e2e/bin/agnhost (the
# suite's test image's program, static, and its files), e2e/bin/kubectl and
# e2e/bin/ginkgo.
# Skips the build when that module and the Go toolchain are unchanged since
# the last one. Needs no root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../nodee2e"
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin

stamp=../bin/.e2e_node.inputs
inputs=$(cat go.mod go.sum <(go version) | sha256sum | cut -d' ' -f1)
if [[ -x ../bin/e2e_node.test && -x ../bin/agnhost && -f ../bin/agnhost-files/localhost.key &&
	-x ../bin/kubectl && -x ../bin/ginkgo && -f $stamp && $(<"$stamp") == "$inputs" ]]; then
	echo "e2e/bin/e2e_node.test up to date"
	exit 0
fi
mkdir -p ../bin
start=$SECONDS
go test -c -trimpath -o ../bin/e2e_node.test k8s.io/kubernetes/test/e2e_node
go build -trimpath -o ../bin/kubectl k8s.io/kubernetes/cmd/kubectl
go build -trimpath -o ../bin/ginkgo github.com/onsi/ginkgo/v2/ginkgo
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o ../bin/agnhost k8s.io/kubernetes/test/images/agnhost
# The files agnhost's image has beside the program: the TLS pair its
# servers take (netexec --tls-cert-file /localhost.crt, porter).
k8s=$(go list -m -f '{{.Dir}}' k8s.io/kubernetes)
mkdir -p ../bin/agnhost-files
cp "$k8s"/test/images/agnhost/porter/localhost.{crt,key} ../bin/agnhost-files/
chmod 644 ../bin/agnhost-files/*
echo "$inputs" >"$stamp"
echo "built e2e/bin/e2e_node.test, agnhost, kubectl and ginkgo in $((SECONDS - start))s"
