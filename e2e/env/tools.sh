#!/usr/bin/env bash
# Builds the e2e tools into e2e/bin/ (gitignored): crictl, from the version
# pinned as a `tool` in e2e/go.mod. Skips the build when e2e/go.mod, go.sum
# and the Go toolchain are unchanged since the last one. Needs no root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin

stamp=bin/.crictl.inputs
inputs=$(cat go.mod go.sum <(go version) | sha256sum | cut -d' ' -f1)
if [[ -x bin/crictl && -f $stamp && $(<"$stamp") == "$inputs" ]]; then
	echo "e2e/bin/crictl up to date ($(bin/crictl --version))"
	exit 0
fi
mkdir -p bin
version=$(go list -m -f '{{.Version}}' sigs.k8s.io/cri-tools)
go build -trimpath -ldflags "-X sigs.k8s.io/cri-tools/pkg/version.Version=$version" \
	-o bin/crictl sigs.k8s.io/cri-tools/cmd/crictl
echo "$inputs" >"$stamp"
echo "built e2e/bin/crictl ($(bin/crictl --version))"
