#!/usr/bin/env bash
# Builds the kubelet the e2e tests run (Kubernetes 1.36, pinned in
# e2e/kubelet/go.mod, a module of its own) into e2e/bin/kubelet. Skips the
# build when that module and the Go toolchain are unchanged since the last
# one; the first build takes several minutes on two cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../kubelet"
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin

stamp=../bin/.kubelet.inputs
inputs=$(cat go.mod go.sum <(go version) | sha256sum | cut -d' ' -f1)
if [[ -x ../bin/kubelet && -f $stamp && $(<"$stamp") == "$inputs" ]]; then
	echo "e2e/bin/kubelet up to date ($(../bin/kubelet --version))"
	exit 0
fi
mkdir -p ../bin
version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
go build -trimpath -ldflags "-X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36" \
	-o ../bin/kubelet k8s.io/kubernetes/cmd/kubelet
echo "$inputs" >"$stamp"
echo "built e2e/bin/kubelet ($(../bin/kubelet --version))"
