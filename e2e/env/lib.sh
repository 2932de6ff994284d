# shellcheck shell=bash disable=SC2034 # constants are used by the scripts sourcing this file
# Constants and helpers shared by the e2e environment scripts (sourced, not run).
#
# Everything the environment owns lives under E2E_DATA (persistent: images,
# registry storage, build cache) and E2E_RUN (sockets, pids, logs), so that a
# Docker already installed on the machine is never touched.

E2E_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_DATA=/var/lib/dockercri-e2e
E2E_RUN=/run/dockercri-e2e
E2E_ENV_FILE=$E2E_RUN/env

# The engine under test (DOCKER_ENGINE, DOCKER_STORE in the environment):
#   debian             Debian 12's docker.io (20.10, API 1.41) and containerd 1.6;
#   current            Docker 29 built by engine.sh (API 1.56) with its own
#                      containerd 2.x and runc, in either image store:
#                      DOCKER_STORE=containerd (its default: containerd's
#                      snapshotter) or DOCKER_STORE=overlay2 (the classic store).
# Each engine and store is an instance of its own (data root, exec root,
# socket, containerd, bridge, address pool) sharing only the registries and
# the image build cache. One instance runs at a time: every dockerd programs
# the host's iptables chains of the same names (DOCKER, DOCKER-USER, ...).
INSTANCES=(debian current-containerd current-overlay2)

# The current Docker Engine, built by engine.sh from Go modules (kept across
# instances and clones): moby v2.0.0-beta.24 is Docker 29.8 (API 1.56).
ENGINE_MOBY=v2.0.0-beta.24
ENGINE_DOCKER_VERSION=29.8.0
ENGINE_CONTAINERD=v2.4.2
ENGINE_RUNC=v1.5.3
ENGINE_DIR=$E2E_DATA/engines/docker-$ENGINE_DOCKER_VERSION

# select_instance ENGINE [STORE]: sets DOCKER_ENGINE, DOCKER_STORE and every
# path of that instance (run at source time for the environment's choice).
select_instance() {
	DOCKER_ENGINE=$1
	DOCKER_STORE=${2:-containerd}
	case $DOCKER_ENGINE in
	debian)
		DOCKER_STORE=overlay2
		INSTANCE=debian
		INSTANCE_DATA=$E2E_DATA # where the first environment always lived
		INSTANCE_RUN=$E2E_RUN
		E2E_BRIDGE=dcri0
		E2E_BRIDGE_CIDR=172.29.213.1/24
		;;
	current)
		DOCKER_STORE=${DOCKER_STORE:-containerd}
		case $DOCKER_STORE in
		containerd)
			E2E_BRIDGE=dcri1
			E2E_BRIDGE_CIDR=172.29.214.1/24
			;;
		overlay2)
			E2E_BRIDGE=dcri2
			E2E_BRIDGE_CIDR=172.29.215.1/24
			;;
		*)
			echo "DOCKER_STORE=$DOCKER_STORE: want containerd or overlay2" >&2
			exit 2
			;;
		esac
		INSTANCE=current-$DOCKER_STORE
		INSTANCE_DATA=$E2E_DATA/$INSTANCE
		INSTANCE_RUN=$E2E_RUN/$INSTANCE
		;;
	*)
		echo "DOCKER_ENGINE=$DOCKER_ENGINE: want debian or current" >&2
		exit 2
		;;
	esac
	# Private containerd (dockerd must never attach to /run/containerd/containerd.sock).
	CONTAINERD_ROOT=$INSTANCE_DATA/containerd
	CONTAINERD_STATE=$INSTANCE_RUN/containerd
	CONTAINERD_SOCK=$CONTAINERD_STATE/containerd.sock
	CONTAINERD_CONFIG=$INSTANCE_DATA/containerd.toml
	CONTAINERD_PIDFILE=$INSTANCE_RUN/containerd.pid
	CONTAINERD_LOG=$INSTANCE_RUN/containerd.log

	# Private dockerd.
	DOCKER_DATA_ROOT=$INSTANCE_DATA/docker
	DOCKER_EXEC_ROOT=$INSTANCE_RUN/docker
	DOCKER_SOCK=$INSTANCE_RUN/docker.sock
	DOCKER_PIDFILE=$INSTANCE_RUN/dockerd.pid
	DOCKER_LOG=$INSTANCE_RUN/dockerd.log
	DOCKER_DAEMON_JSON=$INSTANCE_DATA/daemon.json
	DOCKER_KEY=$INSTANCE_DATA/key.json
	E2E_CGROUP_PARENT=/dockercri-e2e
}
select_instance "${DOCKER_ENGINE:-debian}" "${DOCKER_STORE:-}"

# Registries on loopback (127.0.0.0/8 is an insecure registry by default, so
# dockerd talks plain HTTP to them, basic auth included).
REGISTRY=127.0.0.1:5000
AUTH_REGISTRY=127.0.0.1:5001
AUTH_USER=dcri
AUTH_PASS=dcri-pass
REGISTRY_DIR=$E2E_DATA/registry # <dir>/{open,auth}/ storage, <dir>/{open,auth}.yml
HTPASSWD_FILE=$E2E_DATA/registry/htpasswd

PAUSE_IMAGE=$REGISTRY/pause:3.10
TEST_IMAGES=(busybox busybox-uid busybox-user busybox-uidgid busybox-label)
TEST_TAG=1.36
BUILD_DIR=$E2E_DATA/build
CNI_BIN_DIR=/usr/lib/cni

# The docker CLI of the scripts only ever talks to the private daemon, with a
# config dir of its own, so `docker login` never touches ~/.docker. Debian's
# CLI is used (not whatever else is first on PATH) so every machine runs the same one.
DOCKER_CLI=/usr/bin/docker
docker() { "$DOCKER_CLI" "$@"; }
export DOCKER_HOST=unix://$DOCKER_SOCK
export DOCKER_CONFIG=$E2E_DATA/docker-config
export DOCKER_BUILDKIT=0
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH

# quiet CMD...: runs CMD with its output kept back unless it fails.
quiet() {
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	if ((rc != 0)); then
		printf '%s\n' "$out" >&2
		log "failed ($rc): $*"
	fi
	return "$rc"
}

log() { printf '[e2e-env %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

# has_arg PID ARG...: the process's argv holds ARG (several: consecutively)
# as whole arguments; a shell whose command text merely mentions them does not.
has_arg() {
	local pid=$1 i j argv=()
	shift
	mapfile -d '' -t argv 2>/dev/null <"/proc/$pid/cmdline" || return 1
	for ((i = 0; i + $# <= ${#argv[@]}; i++)); do
		for ((j = 0; j < $#; j++)); do
			local want=$((j + 1))
			[[ ${argv[i + j]} == "${!want}" ]] || continue 2
		done
		return 0
	done
	return 1
}

# pid_of PIDFILE ARG: prints the pid recorded in PIDFILE if that process is
# alive and has ARG among its arguments (guards against pid reuse and against
# ever signalling a process that is not ours).
pid_of() {
	local pidfile=$1 marker=$2 pid
	[[ -r $pidfile ]] || return 1
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	has_arg "$pid" "$marker" || return 1
	echo "$pid"
}

# spawn PIDFILE LOG CMD...: starts CMD detached (own session, no inherited
# stdio, so callers capturing output do not hang) and records its pid.
spawn() {
	local pidfile=$1 logfile=$2
	shift 2
	setsid "$@" </dev/null >>"$logfile" 2>&1 &
	echo $! >"$pidfile"
}

# stop_pid PIDFILE MARKER NAME [TIMEOUT]: SIGTERM, wait, then SIGKILL.
stop_pid() {
	local pidfile=$1 marker=$2 name=$3 timeout=${4:-30} pid i
	if ! pid=$(pid_of "$pidfile" "$marker"); then
		rm -f "$pidfile"
		return 0
	fi
	log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		[[ -d /proc/$pid ]] || break
		sleep 0.1
	done
	if [[ -d /proc/$pid ]]; then
		log "$name did not stop in ${timeout}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			[[ -d /proc/$pid ]] || break
			sleep 0.1
		done
	fi
	rm -f "$pidfile"
}

# wait_for SECONDS DESCRIPTION CMD...: retries CMD every 0.2 s.
wait_for() {
	local secs=$1 i # $2 only documents the call
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

docker_answers() { docker version >/dev/null 2>&1; }
containerd_answers() { ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; }

containerd_running() { pid_of "$CONTAINERD_PIDFILE" "$CONTAINERD_CONFIG" >/dev/null; }
dockerd_running() { pid_of "$DOCKER_PIDFILE" "unix://$DOCKER_SOCK" >/dev/null; }

ensure_bridge() {
	if ! ip link show "$E2E_BRIDGE" >/dev/null 2>&1; then
		log "creating bridge $E2E_BRIDGE ($E2E_BRIDGE_CIDR)"
		ip link add "$E2E_BRIDGE" type bridge
	fi
	if ! ip -4 addr show dev "$E2E_BRIDGE" | grep -qF "inet $E2E_BRIDGE_CIDR"; then
		ip addr add "$E2E_BRIDGE_CIDR" dev "$E2E_BRIDGE"
	fi
	ip link set "$E2E_BRIDGE" up
}

# containerd 2.x splits the CRI plugin in three.
containerd_disabled_plugins() {
	if [[ $DOCKER_ENGINE == debian ]]; then
		echo '"io.containerd.grpc.v1.cri"'
	else
		echo '"io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime"'
	fi
}

# engine_path puts the current engine's binaries first, so that dockerd finds
# its own containerd, runc, shim and docker-proxy.
engine_path() {
	if [[ $DOCKER_ENGINE == current ]]; then
		[[ -x $ENGINE_DIR/bin/dockerd ]] || die "the current engine is not built: run e2e/env/engine.sh"
		export PATH=$ENGINE_DIR/bin:$PATH
	fi
}

write_containerd_config() {
	mkdir -p "$CONTAINERD_ROOT" "$CONTAINERD_STATE" "$INSTANCE_DATA/containerd-opt"
	cat >"$CONTAINERD_CONFIG.tmp" <<EOF
# Private containerd of the dockercri e2e environment (written by e2e/env/up.sh).
version = 2
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_STATE"
oom_score = 0
# dockerd needs none of the CRI plugin; disabling it keeps this containerd inert.
disabled_plugins = [$(containerd_disabled_plugins)]

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[debug]
  address = "$CONTAINERD_STATE/debug.sock"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$INSTANCE_DATA/containerd-opt"
EOF
	mv "$CONTAINERD_CONFIG.tmp" "$CONTAINERD_CONFIG"
}

start_containerd() {
	if containerd_running && containerd_answers; then
		return 0
	fi
	if containerd_running; then
		# Alive but not answering: give it a moment, it may be starting.
		wait_for 15 containerd containerd_answers && return 0
		stop_pid "$CONTAINERD_PIDFILE" "$CONTAINERD_CONFIG" containerd
	fi
	write_containerd_config
	log "starting containerd (log: $CONTAINERD_LOG)"
	rm -f "$CONTAINERD_SOCK" "$CONTAINERD_SOCK.ttrpc"
	spawn "$CONTAINERD_PIDFILE" "$CONTAINERD_LOG" containerd --config "$CONTAINERD_CONFIG"
	wait_for 30 containerd containerd_answers ||
		{ tail -n 30 "$CONTAINERD_LOG" >&2; die "containerd did not answer on $CONTAINERD_SOCK"; }
}

# dockerd_args are the private dockerd's flags. Its networking is Docker's
# default, as users run it: iptables and ip-forward on (so the FORWARD policy
# is DROP) and masquerading, on a bridge and subnet of its own (dcri0,
# E2E_BRIDGE_CIDR) that no other Docker on the machine uses. The runtime
# test-handler (runc under another name) is the runtime class handler of the
# node conformance suite's RuntimeClass specs, as its containerd config has.
dockerd_args() {
	printf '%s\n' -H "unix://$DOCKER_SOCK" \
		--config-file "$DOCKER_DAEMON_JSON" \
		--data-root "$DOCKER_DATA_ROOT" \
		--exec-root "$DOCKER_EXEC_ROOT" \
		--pidfile "$DOCKER_PIDFILE" \
		--containerd "$CONTAINERD_SOCK" \
		--bridge "$E2E_BRIDGE" \
		--cgroup-parent "$E2E_CGROUP_PARENT" \
		--exec-opt native.cgroupdriver=cgroupfs \
		--add-runtime test-handler=runc
	case $INSTANCE in
	# 20.10 runs itself at -500 by default; these machines' root may not
	# lower a score (no CAP_SYS_RESOURCE). Docker 29 has no such flag.
	debian) printf '%s\n' --oom-score-adjust 0 ;;
	# Its own containerd namespace, and Docker 29's default store: the
	# snapshotter needs no flag on a fresh data root.
	current-containerd) printf '%s\n' --containerd-namespace dockercri-e2e ;;
	current-overlay2)
		printf '%s\n' --containerd-namespace dockercri-e2e \
			--feature containerd-snapshotter=false --storage-driver overlay2
		;;
	esac
}

# kube_node_netfilter makes bridged traffic go through iptables, as on every
# Kubernetes node (kubeadm's preflight wants it): br_netfilter and
# net.bridge.bridge-nf-call-iptables=1.
kube_node_netfilter() {
	[[ -d /proc/sys/net/bridge ]] || modprobe br_netfilter || die "net.bridge.* needs the br_netfilter module"
	sysctl -qw net.bridge.bridge-nf-call-iptables=1
}

start_dockerd() {
	mkdir -p "$DOCKER_DATA_ROOT" "$DOCKER_EXEC_ROOT" "$DOCKER_CONFIG"
	engine_path
	stop_other_instances
	# A running dockerd reconnects by itself to a containerd started again.
	start_containerd
	ensure_bridge
	kube_node_netfilter
	local args
	args=$(dockerd_args)
	if dockerd_running; then
		if [[ -f $INSTANCE_RUN/dockerd.args && $(<"$INSTANCE_RUN/dockerd.args") == "$args" ]]; then
			wait_for 60 dockerd docker_answers && docker_forward_policy && return 0
			die "dockerd (pid $(<"$DOCKER_PIDFILE")) runs but does not answer on $DOCKER_SOCK; see $DOCKER_LOG or run down.sh"
		fi
		log "dockerd runs with other flags than these scripts give it: restarting it"
		stop_dockerd
	fi
	# A config file of our own, so that /etc/docker/daemon.json of a system
	# Docker does not leak in; it only moves the daemon's identity key out of
	# /etc/docker (a config-file-only option in 20.10).
	printf '{\n  "deprecated-key-path": "%s"\n}\n' "$DOCKER_KEY" >"$DOCKER_DAEMON_JSON"
	log "starting dockerd (log: $DOCKER_LOG)"
	rm -f "$DOCKER_SOCK"
	echo "$args" >"$INSTANCE_RUN/dockerd.args"
	# dockerd writes --pidfile itself (and refuses one naming a live process),
	# so spawn records the pid elsewhere, only to notice an early death.
	local argv=()
	mapfile -t argv <<<"$args"
	spawn "$INSTANCE_RUN/dockerd.spawn.pid" "$DOCKER_LOG" dockerd "${argv[@]}"
	local pid i
	pid=$(<"$INSTANCE_RUN/dockerd.spawn.pid")
	rm -f "$INSTANCE_RUN/dockerd.spawn.pid"
	for ((i = 0; i < 300; i++)); do
		if docker_answers; then
			docker_forward_policy
			return 0
		fi
		[[ -d /proc/$pid ]] || break
		sleep 0.2
	done
	tail -n 30 "$DOCKER_LOG" >&2
	die "dockerd did not answer on $DOCKER_SOCK (log: $DOCKER_LOG)"
}

# docker_forward_policy leaves the FORWARD policy as Docker leaves it on a
# host it booted on: DROP. Docker sets it when it turns IP forwarding on
# itself, so a host where forwarding was on already (an earlier test run, a
# Kubernetes node set up first) keeps ACCEPT and would hide what a pod
# network meets on a real Docker host.
# Docker 28 and later also program ip6tables by default, and do the same
# there; 20.10 leaves IPv6 alone.
docker_forward_policy() {
	local cmd cmds=(iptables)
	[[ $DOCKER_ENGINE == current ]] && cmds+=(ip6tables)
	for cmd in "${cmds[@]}"; do
		if "$cmd" -S FORWARD | grep -qx -- '-P FORWARD ACCEPT'; then
			log "$cmd FORWARD policy ACCEPT: setting DROP, as Docker does on a host where it enables forwarding"
			"$cmd" -P FORWARD DROP
		fi
	done
}

# stop_other_instances stops the dockerd and containerd of the other e2e
# instances (never any other Docker): two dockerds would fight over the
# host's iptables chains. Their data stays; up.sh brings them back.
stop_other_instances() {
	local inst run
	for inst in "${INSTANCES[@]}"; do
		[[ $inst == "$INSTANCE" ]] && continue
		run=$E2E_RUN
		[[ $inst == debian ]] || run=$E2E_RUN/$inst
		[[ -e $run/dockerd.pid || -e $run/containerd.pid ]] || continue
		log "stopping the $inst instance (one e2e dockerd at a time)"
		(
			select_instance "${inst%%-*}" "${inst#*-}"
			stop_dockerd
			stop_pid "$CONTAINERD_PIDFILE" "$CONTAINERD_CONFIG" "containerd ($INSTANCE)" 30
			rm -f "$CONTAINERD_SOCK" "$CONTAINERD_SOCK.ttrpc"
		)
	done
}

stop_dockerd() {
	stop_pid "$DOCKER_PIDFILE" "unix://$DOCKER_SOCK" dockerd 40
	rm -f "$DOCKER_SOCK"
}

# The manifest types the local registries hold (curl headers).
MANIFEST_ACCEPT=(-H 'Accept: application/vnd.docker.distribution.manifest.v2+json'
	-H 'Accept: application/vnd.oci.image.manifest.v1+json')

# registry_has REGISTRY NAME TAG: the registry serves a manifest for it (the
# htpasswd registry is asked with the environment's credentials).
registry_has() {
	local reg=$1 name=$2 tag=$3 creds=() code
	[[ $reg == "$AUTH_REGISTRY" ]] && creds=(-u "$AUTH_USER:$AUTH_PASS")
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${creds[@]}" "${MANIFEST_ACCEPT[@]}" \
		"http://$reg/v2/$name/manifests/$tag") || return 1
	[[ $code == 200 ]]
}

# up_to_date HASH_FILE HASH NAME TAG REGISTRIES...: the input hash recorded in
# HASH_FILE matches and every registry has the tag, so building and pushing
# can be skipped.
up_to_date() {
	local file=$1 hash=$2 name=$3 tag=$4 reg
	shift 4
	[[ -f $file && $(<"$file") == "$hash" ]] || return 1
	for reg in "$@"; do
		registry_has "$reg" "$name" "$tag" || return 1
	done
}
