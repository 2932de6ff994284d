#!/usr/bin/env bash
# Builds the current Docker Engine the e2e environment runs beside Debian's
# 20.10 (DOCKER_ENGINE=current): dockerd and docker-proxy from moby's Go
# module, containerd and its runc shim, and runc, each from its own module at
# the version pinned below, into $ENGINE_DIR/bin. A build is kept and reused
# while the versions, the Go toolchain and this script's recipe are unchanged
# (a cold build is about 11 minutes on two cores; a warm one costs nothing).
# Needs no running daemon; root only for the install of libseccomp-dev.
#   usage: engine.sh            build if needed, print the bin directory
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin

# go_module_build NAME MODULE@VERSION CGO TAGS LDFLAGS PKG...: builds PKG from
# MODULE at VERSION in a scratch module of its own (so that the three
# components' dependency graphs never meet), into $ENGINE_DIR/bin.
go_module_build() {
	local name=$1 modver=$2 cgo=$3 tags=$4 ldflags=$5 dir pkg start=$SECONDS
	shift 5
	dir=$ENGINE_DIR/src/$name
	rm -rf "$dir" && mkdir -p "$dir"
	log "building $name ($modver)"
	(
		cd "$dir"
		export GOFLAGS=-mod=mod GOWORK=off
		go mod init "dockercri-engine/$name" >/dev/null 2>&1
		quiet go get "$modver"
		for pkg in "$@"; do
			CGO_ENABLED=$cgo go build -trimpath -buildvcs=false -tags "$tags" -ldflags "$ldflags" \
				-o "$ENGINE_DIR/bin/" "$pkg"
		done
	)
	rm -rf "$dir"
	log "built $name in $((SECONDS - start))s"
}

build_engine() {
	local inputs
	inputs=$({
		echo "$ENGINE_MOBY $ENGINE_CONTAINERD $ENGINE_RUNC $ENGINE_DOCKER_VERSION"
		go version
		declare -f go_module_build build_engine
	} | sha256sum | cut -d' ' -f1)
	if [[ -f $ENGINE_DIR/.inputs && $(<"$ENGINE_DIR/.inputs") == "$inputs" ]]; then
		log "current engine up to date ($ENGINE_DIR/bin: dockerd $ENGINE_DOCKER_VERSION)"
		return 0
	fi
	if ! dpkg -s libseccomp-dev >/dev/null 2>&1; then
		[[ $EUID -eq 0 ]] || die "runc needs libseccomp-dev: run as root or install it"
		log "installing libseccomp-dev (runc's seccomp)"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libseccomp-dev >/dev/null
	fi
	rm -rf "$ENGINE_DIR" && mkdir -p "$ENGINE_DIR/bin"
	local start=$SECONDS
	go_module_build runc "github.com/opencontainers/runc@$ENGINE_RUNC" 1 seccomp \
		"-X main.version=${ENGINE_RUNC#v}" github.com/opencontainers/runc
	go_module_build containerd "github.com/containerd/containerd/v2@$ENGINE_CONTAINERD" 0 \
		"no_btrfs no_devmapper no_zfs" \
		"-X github.com/containerd/containerd/v2/version.Version=$ENGINE_CONTAINERD" \
		github.com/containerd/containerd/v2/cmd/containerd \
		github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
	go_module_build moby "github.com/moby/moby/v2@$ENGINE_MOBY" 0 \
		"exclude_graphdriver_btrfs exclude_graphdriver_devicemapper exclude_graphdriver_zfs" \
		"-X github.com/moby/moby/v2/dockerversion.Version=$ENGINE_DOCKER_VERSION -X github.com/moby/moby/v2/dockerversion.GitCommit=moby-$ENGINE_MOBY" \
		github.com/moby/moby/v2/cmd/dockerd github.com/moby/moby/v2/cmd/docker-proxy
	echo "$inputs" >"$ENGINE_DIR/.inputs"
	log "current engine built in $((SECONDS - start))s: $("$ENGINE_DIR/bin/dockerd" --version)"
}

build_engine
echo "$ENGINE_DIR/bin"
