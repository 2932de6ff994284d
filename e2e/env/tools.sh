#!/usr/bin/env bash
# Builds the e2e tools into e2e/bin/ (gitignored) from sigs.k8s.io/cri-tools,
# the version e2e/go.mod pins:
#   - crictl, a `tool` of the module;
#   - critest, the CRI validation suite: a test binary (`go test -c` of
#     cmd/critest, which has only test files), whose dependencies e2e/critest_deps.go
#     keeps in go.mod and go.sum.
# Each is skipped when e2e/go.mod, go.sum and the Go toolchain are unchanged
# since its last build. Needs no root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin

inputs=$(cat go.mod go.sum <(go version) | sha256sum | cut -d' ' -f1)
version=
ldflags() {
	[[ -n $version ]] || version=$(go list -m -f '{{.Version}}' sigs.k8s.io/cri-tools)
	echo "-X sigs.k8s.io/cri-tools/pkg/version.Version=$version"
}
up_to_date() { # name
	[[ -x bin/$1 && -f bin/.$1.inputs && $(<"bin/.$1.inputs") == "$inputs" ]]
}
mkdir -p bin

if up_to_date crictl; then
	echo "e2e/bin/crictl up to date ($(bin/crictl --version))"
else
	go build -trimpath -ldflags "$(ldflags)" -o bin/crictl sigs.k8s.io/cri-tools/cmd/crictl
	echo "$inputs" >bin/.crictl.inputs
	echo "built e2e/bin/crictl ($(bin/crictl --version))"
fi

# critest reads /etc/crictl.yaml (or ./crictl.yaml) at start and warns when
# there is none; the version line is what it prints first.
critest_version() { (cd bin && ./critest -version 2>/dev/null | sed -n 's/^critest version: //p'); }
if up_to_date critest; then
	echo "e2e/bin/critest up to date ($(critest_version))"
else
	go test -c -trimpath -ldflags "$(ldflags)" -o bin/critest sigs.k8s.io/cri-tools/cmd/critest
	echo "$inputs" >bin/.critest.inputs
	echo "built e2e/bin/critest ($(critest_version))"
fi
