#!/usr/bin/env bash
# The node benchmark (bin/cribench compare): the Docker path (dockercri on
# the e2e's dockerd of the selected instance, Debian's 20.10 by default)
# against containerd's own CRI (critest-containerd.sh's daemon: Debian's 1.6,
# or CC_ENGINE=current for the 2.x engine.sh builds), with the Docker-direct
# floor on the same dockerd, each through the e2e's kubelet (e2e/bin/kubelet)
# for the node runs. Runtimes alternate within each repeat.
#
#   BENCH_HOST_NETWORK (false: the pods on each runtime's CNI bridge, as a
#   Kubernetes node's; true: in the host's network)
#   BENCH_PODS (105)  BENCH_REPEATS (3)  BENCH_STEADY (2m)  BENCH_INTERVAL (10s)
#   BENCH_OUT (e2e/reports/cribench/<instance>)  BENCH_ARGS (more cribench flags,
#   e.g. another runtime: "--runtime crio=unix:///run/crio/crio.sock
#   --process crio/crio=cmd:^/usr/bin/crio")
#   BENCH_METRICS (127.0.0.1:19187: dockercri's metrics address; the report
#   gets its CRI and Docker request rates over each steady state)
#   BENCH_DCRI_ARGS (more dockercri flags, e.g. "--profiling" to take its CPU
#   profile from http://$BENCH_METRICS/debug/pprof/profile while it runs)
#   BENCH_SMOKE=1: 20 pods, one repeat, a 1-minute steady state, and the
#   report checked for form (cribench validate), not for its figures.
#
# Needs up.sh's environment and critest-images.sh's images (the mirror of
# registry.k8s.io), bin/dockercri and bin/cribench, the kubelet (kubelet.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || die "run as root"
BIN=$E2E_REPO/e2e/bin
if [[ -n ${BENCH_SMOKE:-} ]]; then
	: "${BENCH_PODS:=20}" "${BENCH_REPEATS:=1}" "${BENCH_STEADY:=1m}" "${BENCH_INTERVAL:=5s}"
	: "${BENCH_OUT:=$E2E_REPO/e2e/reports/cribench/smoke-$INSTANCE}"
fi
BENCH_PODS=${BENCH_PODS:-105}
BENCH_REPEATS=${BENCH_REPEATS:-3}
BENCH_STEADY=${BENCH_STEADY:-2m}
BENCH_INTERVAL=${BENCH_INTERVAL:-10s}
BENCH_OUT=${BENCH_OUT:-$E2E_REPO/e2e/reports/cribench/$INSTANCE}
BENCH_METRICS=${BENCH_METRICS:-127.0.0.1:19187}
BENCH_DATA=$E2E_DATA/cribench
BENCH_RUN=$E2E_RUN/cribench
DCRI_SOCK=$BENCH_RUN/dockercri.sock
DCRI_PIDFILE=$BENCH_RUN/dockercri.pid
PAUSE=registry.k8s.io/pause:3.10 # containerd's sandbox_image in critest-containerd.sh
case ${CC_ENGINE:=debian} in
debian) CC_RUN=$E2E_RUN/containerd-cri ;;
current) CC_RUN=$E2E_RUN/containerd-cri-current ;;
*) die "CC_ENGINE=$CC_ENGINE: want debian or current" ;;
esac

for b in "$E2E_REPO/bin/dockercri" "$E2E_REPO/bin/cribench" "$BIN/kubelet" "$BIN/crictl"; do
	[[ -x $b ]] || die "$b is missing: make build, and e2e/env/kubelet.sh, tools.sh"
done
docker_answers || die "the private dockerd ($INSTANCE) does not answer: run e2e/env/up.sh first"
if ss -Hltn | awk '{print $4}' | grep -q ':10250$'; then
	log "note: another kubelet listens on :10250 (the benchmark's kubelets take free ports of their own)"
fi

dcri_answers() { "$BIN/crictl" --runtime-endpoint "unix://$DCRI_SOCK" version >/dev/null 2>&1; }

start_dockercri() {
	mkdir -p "$BENCH_DATA/dockercri" "$BENCH_RUN" "$BENCH_OUT"
	log "starting dockercri on $INSTANCE (log: $BENCH_OUT/dockercri.log)"
	# shellcheck disable=SC2086 # BENCH_DCRI_ARGS is split on purpose
	spawn "$DCRI_PIDFILE" "$BENCH_OUT/dockercri.log" "$E2E_REPO/bin/dockercri" \
		--container-runtime-endpoint "unix://$DCRI_SOCK" --docker-endpoint "unix://$DOCKER_SOCK" \
		--root-directory "$BENCH_DATA/dockercri" --pod-infra-container-image "$PAUSE" \
		--registry-mirror "registry.k8s.io=http://$REGISTRY/k8s" \
		--cni-bin-dir "$CNI_BIN_DIR" --cni-conf-dir "$BENCH_DATA/net.d" \
		--cni-default-network 10.212.0.0/24 --cni-default-bridge dcrib0 -v 1 \
		--metrics-bind-addr "$BENCH_METRICS" ${BENCH_DCRI_ARGS:-}
	wait_for 30 dockercri dcri_answers || { tail -n 30 "$BENCH_OUT/dockercri.log" >&2; die "dockercri did not answer on $DCRI_SOCK"; }
}

stop_all() {
	"$E2E_REPO/bin/cribench" clean --runtime "dockercri=unix://$DCRI_SOCK" \
		--runtime "containerd=unix://$CC_RUN/containerd.sock" --docker-endpoint "unix://$DOCKER_SOCK" >/dev/null 2>&1 || true
	stop_pid "$DCRI_PIDFILE" "unix://$DCRI_SOCK" dockercri 30 || true
	ip link del dcrib0 2>/dev/null || true
	bash "$E2E_REPO/e2e/env/critest-containerd.sh" stop || true
}

main() {
	rm -rf "$BENCH_OUT" && mkdir -p "$BENCH_OUT"
	trap stop_all EXIT
	start_dockercri
	bash "$E2E_REPO/e2e/env/critest-containerd.sh" start
	local cc_sock=$CC_RUN/containerd.sock args
	# shellcheck disable=SC2206 # BENCH_ARGS is split on purpose
	args=(
		--runtime "dockercri=unix://$DCRI_SOCK" --runtime "containerd=unix://$cc_sock"
		--process "dockercri/dockercri=pidfile:$DCRI_PIDFILE"
		--process "dockercri/dockerd=pidfile:$DOCKER_PIDFILE"
		--process "dockercri/containerd=pidfile:$CONTAINERD_PIDFILE"
		--process "dockercri/shims=cmd:^\\S*containerd-shim\\S* .*-address $CONTAINERD_SOCK( |$)"
		--process "containerd/containerd=pidfile:$CC_RUN/containerd.pid"
		--process "containerd/shims=cmd:^\\S*containerd-shim\\S* .*-address $cc_sock( |$)"
		--kubelet-flag "containerd=--containerd=$cc_sock"
		--metrics "dockercri=http://$BENCH_METRICS/metrics"
		--docker-endpoint "unix://$DOCKER_SOCK" --pause-image "$PAUSE"
		--kubelet "$BIN/kubelet" --work-dir "$BENCH_DATA/work"
		--host-network="${BENCH_HOST_NETWORK:-false}" --pods "$BENCH_PODS" --repeats "$BENCH_REPEATS" --steady "$BENCH_STEADY" --interval "$BENCH_INTERVAL"
		--baseline containerd --out "$BENCH_OUT" ${BENCH_ARGS:-}
	)
	log "cribench compare: ${BENCH_PODS} pods, ${BENCH_REPEATS} repeat(s), steady ${BENCH_STEADY} (report: $BENCH_OUT)"
	"$E2E_REPO/bin/cribench" compare "${args[@]}" >"$BENCH_OUT/stdout.md"
	"$E2E_REPO/bin/cribench" validate "$BENCH_OUT"
}

main
