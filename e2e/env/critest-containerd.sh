#!/usr/bin/env bash
# The baseline of the critest comparison: runs the same critest
# (e2e/bin/critest), with the same images, mirrors and skip list
# (e2e/critest-skip.txt), against Debian's containerd and its CRI plugin on
# this machine, then stops it. Reports go to e2e/reports/containerd-critest.*
#
# That containerd is separate from everything else: its own config, root,
# state and socket under the e2e directories, CNI on a bridge and subnet of
# its own, the registry mirrors as hosts.toml files (override_path: the mirror
# keeps registry.k8s.io/<path> at 127.0.0.1:5000/k8s/<path>).
# Needs up.sh's environment (the registry), critest-images.sh and tools.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || die "run as root"

# CC_ENGINE=debian (default): Debian's containerd 1.6; CC_ENGINE=current:
# the containerd 2.x (and runc) engine.sh builds for Docker 29, each with
# data, bridge and subnet of its own.
case ${CC_ENGINE:=debian} in
debian)
	CC_DATA=$E2E_DATA/containerd-cri
	CC_RUN=$E2E_RUN/containerd-cri
	CC_BRIDGE=dcritd
	CC_SUBNET=10.209.201.0/24
	;;
current)
	[[ -x $ENGINE_DIR/bin/containerd ]] || die "$ENGINE_DIR has no containerd: run e2e/env/engine.sh"
	export PATH=$ENGINE_DIR/bin:$PATH
	CC_DATA=$E2E_DATA/containerd-cri-current
	CC_RUN=$E2E_RUN/containerd-cri-current
	CC_BRIDGE=dcritc
	CC_SUBNET=10.209.202.0/24
	;;
*) die "CC_ENGINE=$CC_ENGINE: want debian or current" ;;
esac
CC_SOCK=$CC_RUN/containerd.sock
CC_CONFIG=$CC_DATA/config.toml
CC_PIDFILE=$CC_RUN/containerd.pid
CC_LOG=$CC_RUN/containerd.log
REPORTS=$E2E_REPO/e2e/reports
CRITEST=$E2E_REPO/e2e/bin/critest

[[ -x $CRITEST ]] || die "$CRITEST: run e2e/env/tools.sh first"

write_config() {
	local reg
	mkdir -p "$CC_DATA/root" "$CC_RUN/state" "$CC_DATA/net.d" "$CC_DATA/certs.d" "$CC_DATA/ipam" "$CC_DATA/opt"
	for reg in registry.k8s.io:k8s gcr.io:gcr; do
		mkdir -p "$CC_DATA/certs.d/${reg%%:*}"
		cat >"$CC_DATA/certs.d/${reg%%:*}/hosts.toml" <<EOF
server = "https://${reg%%:*}"

[host."http://$REGISTRY/v2/${reg#*:}"]
  capabilities = ["pull", "resolve"]
  override_path = true
EOF
	done
	cat >"$CC_DATA/net.d/10-critest.conflist" <<EOF
{
  "cniVersion": "1.0.0", "name": "critest-containerd",
  "plugins": [
    {"type": "bridge", "bridge": "$CC_BRIDGE", "isGateway": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$CC_SUBNET"}]], "dataDir": "$CC_DATA/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true},
    {"type": "firewall"}
  ]
}
EOF
	cat >"$CC_CONFIG" <<EOF
# containerd with its CRI plugin, the critest baseline (e2e/env/critest-containerd.sh)
version = 2
root = "$CC_DATA/root"
state = "$CC_RUN/state"
oom_score = 0

[grpc]
  address = "$CC_SOCK"
[ttrpc]
  address = "$CC_SOCK.ttrpc"
[debug]
  address = "$CC_RUN/debug.sock"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$CC_DATA/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.10"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    # These machines lack CAP_SYS_RESOURCE: no oom_score_adj below our own.
    restrict_oom_score_adj = true
    # runc, and the node conformance suite's RuntimeClass handler (runc by
    # another name: a runtimes table must then name the default too).
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.test-handler]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "$CNI_BIN_DIR"
      conf_dir = "$CC_DATA/net.d"
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "$CC_DATA/certs.d"
EOF
}

cc_answers() { ctr --address "$CC_SOCK" version >/dev/null 2>&1; }

start() {
	if pid_of "$CC_PIDFILE" "$CC_CONFIG" >/dev/null && cc_answers; then
		return 0
	fi
	write_config
	log "starting containerd with CRI (log: $CC_LOG)"
	rm -f "$CC_SOCK"
	spawn "$CC_PIDFILE" "$CC_LOG" containerd --config "$CC_CONFIG"
	wait_for 30 containerd cc_answers || { tail -n 30 "$CC_LOG" >&2; die "containerd did not answer on $CC_SOCK"; }
}

stop() {
	local ids
	if cc_answers; then
		# Whatever critest left, then the daemon.
		ids=$(crictl_cc pods -q 2>/dev/null || true)
		for id in $ids; do
			crictl_cc stopp "$id" >/dev/null 2>&1 || true
			crictl_cc rmp "$id" >/dev/null 2>&1 || true
		done
	fi
	# With every pod removed, no runc shim of this containerd is left.
	stop_pid "$CC_PIDFILE" "$CC_CONFIG" "containerd (CRI)" 30
	ip link del "$CC_BRIDGE" 2>/dev/null || true
}

crictl_cc() {
	"$E2E_REPO/e2e/bin/crictl" --runtime-endpoint "unix://$CC_SOCK" --image-endpoint "unix://$CC_SOCK" "$@"
}

host_settings() {
	local key path
	[[ -d /proc/sys/net/bridge ]] || modprobe br_netfilter
	for key in net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables; do
		path=/proc/sys/${key//.//}
		[[ $(<"$path") == 1 ]] || { log "sysctl $key=1"; echo 1 >"$path"; }
	done
}

skip_args() { # -ginkgo.skip for each entry of e2e/critest-skip.txt
	local line pattern
	while IFS= read -r line; do
		[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
		pattern=${line%%||*}
		pattern=${pattern%"${pattern##*[![:space:]]}"}
		printf '%s\0' "-ginkgo.skip=$pattern"
	done <"$E2E_REPO/e2e/critest-skip.txt"
}

# The HostIpc specs create 1 MiB segments on the host with ipcmk and leave them.
shm_ids() { awk 'NR > 1 { print $2 }' /proc/sysvipc/shm; }
remove_new_shm() { # ids before
	local id
	while read -r id; do
		[[ " $1 " == *" $id "* ]] || ipcrm -m "$id" || true
	done < <(awk 'NR > 1 && $4 == 1048576 && $7 == 0 { print $2 }' /proc/sysvipc/shm)
}

run() {
	local skips rc=0 shm_before
	mapfile -d '' -t skips < <(skip_args)
	shm_before=" $(shm_ids | tr '\n' ' ') "
	mkdir -p "$REPORTS"
	host_settings
	start
	trap stop EXIT
	log "critest against containerd $(containerd --version | awk '{print $3}') (output: $REPORTS/containerd-critest.log)"
	(cd "$(mktemp -d)" && "$CRITEST" -runtime-endpoint "unix://$CC_SOCK" -image-endpoint "unix://$CC_SOCK" \
		-ginkgo.no-color -ginkgo.v \
		-ginkgo.junit-report="$REPORTS/containerd-critest-junit.xml" \
		-ginkgo.json-report="$REPORTS/containerd-critest.json" \
		"${skips[@]}") >"$REPORTS/containerd-critest.log" 2>&1 || rc=$?
	remove_new_shm "$shm_before"
	grep -E '^(Ran |SUCCESS|FAIL)' "$REPORTS/containerd-critest.log" >&2 || true
	return "$rc"
}

# benchmark: `critest -benchmark` with the settings dockercri's run uses
# (e2e/critest-benchmark.yaml); JSON in $REPORTS/containerd-critest-benchmark/.
benchmark() {
	local rc=0 out=$REPORTS/containerd-critest-benchmark
	mkdir -p "$out"
	host_settings
	start
	trap stop EXIT
	log "critest -benchmark against containerd $(containerd --version | awk '{print $3}') (output: $out.log)"
	(cd "$(mktemp -d)" && "$CRITEST" -runtime-endpoint "unix://$CC_SOCK" -image-endpoint "unix://$CC_SOCK" \
		-benchmark -benchmarking-params-file="$E2E_REPO/e2e/critest-benchmark.yaml" \
		-benchmarking-output-dir="$out" -ginkgo.no-color) >"$out.log" 2>&1 || rc=$?
	grep -E '^(Ran |SUCCESS|FAIL)' "$out.log" >&2 || true
	return "$rc"
}

case ${1:-run} in
run) run ;;
benchmark) benchmark ;;
start) host_settings && start ;; # left running, for node-conformance.sh
stop) stop ;;
*) die "usage: $0 [run|benchmark|start|stop]" ;;
esac
