#!/usr/bin/env bash
# Brings up dockercri's end-to-end environment, as root, on the engine that
# DOCKER_ENGINE (debian|current) and DOCKER_STORE (containerd|overlay2) pick
# (lib.sh; the current engine is built first by engine.sh):
#   - a private containerd + dockerd (own data root, exec root, socket, pidfile,
#     bridge dcri0/1/2, cgroup parent /dockercri-e2e), which never touches a Docker
#     already on the machine, with Docker's default networking (iptables on,
#     FORWARD policy DROP) and bridged traffic through iptables, as on a
#     Kubernetes node;
#   - two local registries: 127.0.0.1:5000 (open) and 127.0.0.1:5001 (htpasswd);
#   - the pause image and busybox test images, pushed to the registries and
#     removed from the daemon so that tests exercise real pulls;
#   - /run/dockercri-e2e/env, the KEY=value file the Go tests read.
# Idempotent: a second run only checks what already exists and runs.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || die "run as root"
start_time=$SECONDS

# --- packages ---------------------------------------------------------------
# busybox-static Provides (and Conflicts with) Debian's dynamic busybox: only
# the static one can go into a FROM scratch image, so it is the one we want.
ensure_packages() {
	local want=(docker.io docker-registry containernetworking-plugins busybox-static socat apache2-utils iptables jq)
	local missing=() p
	for p in "${want[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# The package's units may start a system dockerd/containerd where systemd
	# runs; that daemon is left alone, ours is separate.
}

# --- registries -------------------------------------------------------------
registry_config() { # name
	echo "$REGISTRY_DIR/$1.yml"
}

write_registry_config() { # name addr auth(0|1)
	local name=$1 addr=$2 auth=$3 cfg
	cfg=$(registry_config "$name")
	mkdir -p "$REGISTRY_DIR/$name"
	{
		cat <<EOF
# dockercri e2e registry "$name" (written by e2e/env/up.sh)
version: 0.1
log:
  level: info
  fields:
    service: dockercri-e2e-registry-$name
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/$name
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $addr
  secret: dockercri-e2e-$name
  headers:
    X-Content-Type-Options: [nosniff]
EOF
		if ((auth)); then
			cat <<EOF
auth:
  htpasswd:
    realm: dockercri-e2e
    path: $HTPASSWD_FILE
EOF
		fi
	} >"$cfg.tmp"
	if ! cmp -s "$cfg.tmp" "$cfg"; then
		mv "$cfg.tmp" "$cfg"
		echo changed
		return 0
	fi
	rm -f "$cfg.tmp"
}

registry_answers() { # addr: /v2/ answers 200 (open) or 401 (auth)
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$1/v2/") || return 1
	[[ $code == 200 || $code == 401 ]]
}

start_registry() { # name addr auth
	local name=$1 addr=$2 auth=$3 cfg pidfile
	cfg=$(registry_config "$name")
	pidfile=$E2E_RUN/registry-$name.pid
	if [[ -n $(write_registry_config "$name" "$addr" "$auth") ]]; then
		stop_pid "$pidfile" "$cfg" "registry $name (config changed)" 10
	fi
	if pid_of "$pidfile" "$cfg" >/dev/null && registry_answers "$addr"; then
		return 0
	fi
	stop_pid "$pidfile" "$cfg" "registry $name" 10
	if registry_answers "$addr"; then
		die "something else already serves $addr; stop it or run e2e/env/down.sh"
	fi
	log "starting registry $name on $addr (log: $E2E_RUN/registry-$name.log)"
	spawn "$pidfile" "$E2E_RUN/registry-$name.log" docker-registry serve "$cfg"
	wait_for 20 "registry $name" registry_answers "$addr" ||
		{ tail -n 20 "$E2E_RUN/registry-$name.log" >&2; die "registry $name did not answer on $addr"; }
}

ensure_htpasswd() {
	mkdir -p "$REGISTRY_DIR"
	if [[ -f $HTPASSWD_FILE ]] && htpasswd -vb "$HTPASSWD_FILE" "$AUTH_USER" "$AUTH_PASS" >/dev/null 2>&1; then
		return 0
	fi
	# bcrypt: the only hash docker-registry's htpasswd backend accepts.
	htpasswd -Bbc "$HTPASSWD_FILE" "$AUTH_USER" "$AUTH_PASS" 2>/dev/null
}

# --- images -----------------------------------------------------------------
# push_and_forget LOCAL_TAG NAME TAG HASH REGISTRIES...: tags, pushes, records
# the hash, then removes every local tag so that tests really pull.
push_and_forget() {
	local local_tag=$1 name=$2 tag=$3 hash=$4 reg
	shift 4
	for reg in "$@"; do
		docker tag "$local_tag" "$reg/$name:$tag"
		quiet docker push "$reg/$name:$tag"
	done
	echo "$hash" >"$BUILD_DIR/$name.hash"
	for reg in "$@"; do
		docker rmi "$reg/$name:$tag" >/dev/null
	done
}

# A login of our own DOCKER_CONFIG, dropped as soon as the pushes are done.
auth_login() {
	quiet docker login -u "$AUTH_USER" --password-stdin "$AUTH_REGISTRY" <<<"$AUTH_PASS"
}
auth_logout() { docker logout "$AUTH_REGISTRY" >/dev/null 2>&1 || true; }

build_pause() {
	local hash ctx=$BUILD_DIR/pause
	# Inputs: the program's sources, the Go toolchain and the Dockerfile below.
	hash=$({
		cat "$E2E_REPO"/cmd/pause/*.go
		go version
		declare -f build_pause
	} | sha256sum | cut -d' ' -f1)
	if up_to_date "$BUILD_DIR/pause.hash" "$hash" pause 3.10 "$REGISTRY"; then
		log "pause image up to date ($PAUSE_IMAGE)"
		return 0
	fi
	log "building $PAUSE_IMAGE"
	rm -rf "$ctx" && mkdir -p "$ctx"
	(cd "$E2E_REPO" && CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags '-s -w' -o "$ctx/pause" ./cmd/pause)
	cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY pause /pause
ENTRYPOINT ["/pause"]
EOF
	quiet docker build -t dockercri-e2e/pause:build "$ctx"
	push_and_forget dockercri-e2e/pause:build pause 3.10 "$hash" "$REGISTRY"
	docker rmi dockercri-e2e/pause:build >/dev/null
}

# The busybox images: one rootfs (static busybox + a symlink per applet) and
# small Dockerfiles on top of it.
busybox_dockerfile() { # name
	case $1 in
	busybox) printf 'FROM scratch\nADD rootfs.tar /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["sh"]\n' ;;
	busybox-uid) printf 'FROM dockercri-e2e/busybox:build\nUSER 1002\n' ;;
	busybox-user) printf 'FROM dockercri-e2e/busybox:build\nCOPY passwd /etc/passwd\nCOPY group /etc/group\nUSER www-data\n' ;;
	busybox-uidgid) printf 'FROM dockercri-e2e/busybox:build\nUSER 1003:1003\n' ;;
	# Labels that imitate the shim's own keys: they must not confuse it.
	busybox-label) printf 'FROM dockercri-e2e/busybox:build\nLABEL io.kubernetes.pod.name=evil\nLABEL annotation.evil=1\n' ;;
	*) die "unknown image $1" ;;
	esac
}

BASE_PASSWD='root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
'
BASE_GROUP='root:x:0:
nogroup:x:65534:
'
USER_PASSWD="${BASE_PASSWD}www-data:x:33:33:www-data:/var/www:/bin/false
"
USER_GROUP="${BASE_GROUP}www-data:x:33:
"

make_rootfs() { # dir: writes dir/rootfs.tar
	local dir=$1 root=$1/rootfs applet
	rm -rf "$root" && mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev}
	chmod 1777 "$root/tmp"
	chmod 700 "$root/root"
	cp /bin/busybox "$root/bin/busybox"
	while read -r applet; do
		[[ $applet == */* && $applet != bin/busybox ]] || continue
		ln -sf /bin/busybox "$root/$applet"
	done < <(/bin/busybox --list-full)
	printf '%s' "$BASE_PASSWD" >"$root/etc/passwd"
	printf '%s' "$BASE_GROUP" >"$root/etc/group"
	tar -C "$root" --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -cf "$dir/rootfs.tar" .
	rm -rf "$root"
}

build_busybox_images() {
	local hash name regs=("$REGISTRY" "$AUTH_REGISTRY") todo=() ctx
	hash=$({
		sha256sum /bin/busybox
		printf '%s' "$BASE_PASSWD$BASE_GROUP$USER_PASSWD$USER_GROUP"
		declare -f make_rootfs busybox_dockerfile
	} | sha256sum | cut -d' ' -f1)
	for name in "${TEST_IMAGES[@]}"; do
		if up_to_date "$BUILD_DIR/$name.hash" "$hash" "$name" "$TEST_TAG" "${regs[@]}"; then
			continue
		fi
		todo+=("$name")
	done
	if ((${#todo[@]} == 0)); then
		log "busybox test images up to date"
		return 0
	fi
	log "building ${todo[*]}"
	ctx=$BUILD_DIR/busybox
	rm -rf "$ctx" && mkdir -p "$ctx"
	make_rootfs "$ctx"
	printf '%s' "$USER_PASSWD" >"$ctx/passwd"
	printf '%s' "$USER_GROUP" >"$ctx/group"
	# The base is always built: the others start FROM it.
	busybox_dockerfile busybox >"$ctx/Dockerfile.busybox"
	quiet docker build -t dockercri-e2e/busybox:build -f "$ctx/Dockerfile.busybox" "$ctx"
	auth_login
	trap auth_logout EXIT
	for name in "${todo[@]}"; do
		if [[ $name != busybox ]]; then
			busybox_dockerfile "$name" >"$ctx/Dockerfile.$name"
			quiet docker build -t "dockercri-e2e/$name:build" -f "$ctx/Dockerfile.$name" "$ctx"
		fi
		push_and_forget "dockercri-e2e/$name:build" "$name" "$TEST_TAG" "$hash" "${regs[@]}"
	done
	auth_logout
	trap - EXIT
	for name in "${todo[@]}"; do
		[[ $name == busybox ]] || docker rmi "dockercri-e2e/$name:build" >/dev/null
	done
	docker rmi dockercri-e2e/busybox:build >/dev/null
	rm -rf "$ctx"
}

# build_multiplatform_image pushes busybox-multi:1.36, a manifest list of two
# platforms: linux/amd64 (busybox:1.36's own manifest) and linux/arm64 (the
# same layers under a config that says arm64: never run, only listed), so
# that a pull has to pick the host's platform from an index. Written with
# the registry's HTTP API: no builder makes a multi-platform image offline.
MULTI_LIST_TYPE=application/vnd.docker.distribution.manifest.list.v2+json
MANIFEST_TYPE=application/vnd.docker.distribution.manifest.v2+json
build_multiplatform_image() {
	local base=http://$REGISTRY/v2/busybox manifest config arm_config arm_digest arm_manifest upload list
	if registry_has "$REGISTRY" busybox-multi "$TEST_TAG" &&
		[[ -f $BUILD_DIR/busybox-multi.base && $(<"$BUILD_DIR/busybox-multi.base") == "$(registry_digest busybox "$TEST_TAG")" ]]; then
		log "multi-platform image up to date"
		return 0
	fi
	log "pushing busybox-multi:$TEST_TAG (linux/amd64 + linux/arm64)"
	manifest=$(curl -fsS -H "Accept: $MANIFEST_TYPE" "$base/manifests/$TEST_TAG")
	config=$(curl -fsS "$base/blobs/$(jq -r .config.digest <<<"$manifest")")
	arm_config=$(jq -c '.architecture = "arm64"' <<<"$config")
	arm_digest=$(manifest_digest "$arm_config")
	# Monolithic blob upload: POST for a location, PUT the bytes to it.
	upload=$(curl -fsS -X POST -D - -o /dev/null "http://$REGISTRY/v2/busybox-multi/blobs/uploads/" |
		sed -n 's/^[Ll]ocation: *//p' | tr -d '\r')
	[[ $upload == http* ]] || upload=http://$REGISTRY$upload
	curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "$arm_config" \
		"$upload$([[ $upload == *\?* ]] && echo '&' || echo '?')digest=$arm_digest" >/dev/null
	# The layers: mounted from busybox, not uploaded again.
	local layer
	for layer in $(jq -r '.config.digest, .layers[].digest' <<<"$manifest"); do
		curl -fsS -X POST -o /dev/null "http://$REGISTRY/v2/busybox-multi/blobs/uploads/?mount=$layer&from=busybox"
	done
	arm_manifest=$(jq -c --arg d "$arm_digest" --argjson n "${#arm_config}" '.config.digest = $d | .config.size = $n' <<<"$manifest")
	put_manifest busybox-multi "arm64-$TEST_TAG" "$MANIFEST_TYPE" "$arm_manifest"
	put_manifest busybox-multi "amd64-$TEST_TAG" "$MANIFEST_TYPE" "$manifest"
	list=$(jq -n -c --arg t "$MULTI_LIST_TYPE" --arg m "$MANIFEST_TYPE" \
		--arg amd "$(manifest_digest "$manifest")" --argjson amdsize "${#manifest}" \
		--arg arm "$(manifest_digest "$arm_manifest")" --argjson armsize "${#arm_manifest}" \
		'{schemaVersion: 2, mediaType: $t, manifests: [
			{mediaType: $m, digest: $amd, size: $amdsize, platform: {architecture: "amd64", os: "linux"}},
			{mediaType: $m, digest: $arm, size: $armsize, platform: {architecture: "arm64", os: "linux"}}]}')
	put_manifest busybox-multi "$TEST_TAG" "$MULTI_LIST_TYPE" "$list"
	registry_digest busybox "$TEST_TAG" >"$BUILD_DIR/busybox-multi.base"
}

manifest_digest() { printf 'sha256:%s' "$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)"; }

put_manifest() { # name tag media-type body
	curl -fsS -X PUT -H "Content-Type: $3" --data-binary "$4" "http://$REGISTRY/v2/$1/manifests/$2" >/dev/null
}

# registry_digest NAME TAG: the digest the open registry serves for it.
registry_digest() {
	curl -fsS -o /dev/null -D - -H "Accept: $MANIFEST_TYPE" "http://$REGISTRY/v2/$1/manifests/$2" |
		sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p' | tr -d '\r'
}

write_env_file() {
	cat >"$E2E_ENV_FILE.tmp" <<EOF
# dockercri e2e environment (written by e2e/env/up.sh; read by e2e/framework)
DOCKER_ENGINE=$DOCKER_ENGINE
DOCKER_STORE=$DOCKER_STORE
INSTANCE=$INSTANCE
CONTAINERD_ROOT=$CONTAINERD_ROOT
DOCKER_HOST=$DOCKER_HOST
DOCKER_CONFIG=$DOCKER_CONFIG
DOCKER_CLI=$DOCKER_CLI
REGISTRY=$REGISTRY
AUTH_REGISTRY=$AUTH_REGISTRY
AUTH_USER=$AUTH_USER
AUTH_PASS=$AUTH_PASS
PAUSE_IMAGE=$PAUSE_IMAGE
CNI_BIN_DIR=$CNI_BIN_DIR
DATA_ROOT=$DOCKER_DATA_ROOT
E2E_DATA=$E2E_DATA
E2E_RUN=$E2E_RUN
CGROUP_PARENT=$E2E_CGROUP_PARENT
BRIDGE=$E2E_BRIDGE
EOF
	mv "$E2E_ENV_FILE.tmp" "$E2E_ENV_FILE"
}

# remove_leftover_pods removes the pods, containers and pulled images an
# interrupted test run left in the private dockerd (it serves only these
# tests), so that every run starts from the same state: a leftover container
# holds images the image tests remove, and a leftover image changes what a
# pull reports.
remove_leftover_pods() {
	local ids=()
	mapfile -t ids < <(docker ps -aq --filter label=io.kubernetes.docker.type)
	if ((${#ids[@]} > 0)); then
		log "removing ${#ids[@]} leftover pod container(s)"
		docker rm -f -v "${ids[@]}" >/dev/null
	fi
	# Images pulled from the test registries are the tests' to pull.
	mapfile -t ids < <(docker images --format '{{.Repository}} {{.ID}}' | awk -v a="$REGISTRY/" -v b="$AUTH_REGISTRY/" \
		'index($1, a) == 1 || index($1, b) == 1 { print $2 }' | sort -u)
	if ((${#ids[@]} > 0)); then
		log "removing ${#ids[@]} image(s) an earlier run pulled"
		docker rmi -f "${ids[@]}" >/dev/null
	fi
}

main() {
	ensure_packages
	command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
	mkdir -p "$E2E_DATA" "$E2E_RUN" "$INSTANCE_DATA" "$INSTANCE_RUN" "$BUILD_DIR" "$DOCKER_CONFIG"
	chmod 700 "$E2E_DATA" "$DOCKER_CONFIG"
	if [[ $DOCKER_ENGINE == current ]]; then
		bash "$E2E_REPO/e2e/env/engine.sh" >/dev/null
	fi
	start_dockerd
	remove_leftover_pods
	ensure_htpasswd
	start_registry open "$REGISTRY" 0
	start_registry auth "$AUTH_REGISTRY" 1
	build_pause
	build_busybox_images
	build_multiplatform_image
	write_env_file
	log "$INSTANCE up in $((SECONDS - start_time))s: $(docker version --format 'dockerd {{.Server.Version}} (API {{.Server.APIVersion}})'), storage driver $(docker info --format '{{.Driver}}'); env in $E2E_ENV_FILE"
}

main "$@"
