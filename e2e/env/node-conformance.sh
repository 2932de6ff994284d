#!/usr/bin/env bash
# Runs Kubernetes' node conformance suite (e2e/bin/e2e_node.test, built by
# node-e2e.sh at the kubelet's version) against a container runtime on this
# machine:
#   node-conformance.sh dockercri    dockercri (bin/dockercri) on the selected
#                                    instance's Docker (DOCKER_ENGINE/STORE)
#   node-conformance.sh containerd   containerd's own CRI plugin, the baseline
#                                    (critest-containerd.sh's daemon: Debian's
#                                    1.6, or with CC_ENGINE=current the 2.x
#                                    engine.sh builds)
# The suite starts etcd and an API server in its own process, and the kubelet
# (e2e/bin/kubelet) pointed at the runtime; the kubelet takes the specs' pods
# from that API server. Specs run in NODE_PROCS ginkgo processes.
#
# Which specs: every [NodeConformance] spec, or with NODE_SUBSET=1 those of
# e2e/node-conformance-subset.txt (the fixed subset `make test` runs), or
# with NODE_FOCUS=REGEX those it matches (to reproduce one spec), minus
# the suite's usual skips (Flaky, Slow, Serial), minus each entry of
# e2e/node-conformance-skip.txt (one reason an entry, as e2e/critest-skip.txt).
# NODE_FEATURE_GATES sets the suite's and its kubelet's feature gates
# (dockercri's default: PodAndContainerStatsFromCRI=true, see start_dockercri).
# NODE_REPORT names the report directory under e2e/reports/node-conformance/
# (default: the runtime, and the instance for dockercri); it gets ginkgo's
# JSON and JUnit reports, the logs, and summary.md: passed, failed, skipped and
# each spec's duration. The exit status is the suite's.
#
# Needs up.sh's environment (the registry with critest-images.sh's images,
# served through the runtime's mirror of registry.k8s.io) and root.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || die "run as root"
RUNTIME=${1:-dockercri}
BIN=$E2E_REPO/e2e/bin
NODE_PROCS=${NODE_PROCS:-4}
NODE_SUBSET=${NODE_SUBSET:-}
SUBSET_FILE=$E2E_REPO/e2e/node-conformance-subset.txt
NODE_TIMEOUT=${NODE_TIMEOUT:-3h}
SKIP_FILE=$E2E_REPO/e2e/node-conformance-skip.txt
NODE_NAME=dcri-node
PAUSE=registry.k8s.io/pause:3.10.2 # the kubelet 1.36's and the suite's

case $RUNTIME in
dockercri) REPORT=$E2E_REPO/e2e/reports/node-conformance/${NODE_REPORT:-dockercri-$INSTANCE${NODE_SUBSET:+-subset}} ;;
containerd) REPORT=$E2E_REPO/e2e/reports/node-conformance/${NODE_REPORT:-containerd-${CC_ENGINE:-debian}${NODE_SUBSET:+-subset}} ;;
*) die "usage: $0 dockercri|containerd" ;;
esac
NC_DATA=$E2E_DATA/node-conformance/$RUNTIME
NC_RUN=$E2E_RUN/node-conformance
DCRI_SOCK=$NC_RUN/dockercri.sock
DCRI_PIDFILE=$NC_RUN/dockercri.pid
DCRI_BRIDGE=dcrit7 # the default pod network's bridge (dockercri)
DCRI_SUBNET=10.211.0.0/24
KUBELET_CGROUP=/kubelet       # the suite's, where the kubelet cannot use systemd
RUNTIME_CGROUP=/$RUNTIME-node # the "runtime" system container

for b in e2e_node.test ginkgo kubelet crictl; do
	[[ -x $BIN/$b ]] || die "$BIN/$b is missing: run e2e/env/node-e2e.sh, kubelet.sh and tools.sh"
done

# --- the runtimes -------------------------------------------------------------
dcri_answers() { "$BIN/crictl" --runtime-endpoint "unix://$DCRI_SOCK" version >/dev/null 2>&1; }

start_dockercri() {
	docker_answers || die "the private dockerd ($INSTANCE) does not answer: run e2e/env/up.sh first"
	[[ -x $E2E_REPO/bin/dockercri ]] || die "bin/dockercri is missing: make build"
	forget_suite_images
	rm -rf "$NC_DATA/net.d" && mkdir -p "$NC_DATA/root" "$NC_DATA/net.d" "$NC_RUN"
	log "starting dockercri on $INSTANCE (log: $REPORT/dockercri.log)"
	spawn "$DCRI_PIDFILE" "$REPORT/dockercri.log" "$E2E_REPO/bin/dockercri" \
		--container-runtime-endpoint "unix://$DCRI_SOCK" --docker-endpoint "unix://$DOCKER_SOCK" \
		--root-directory "$NC_DATA/root" --pod-infra-container-image "$PAUSE" \
		--registry-mirror "registry.k8s.io=http://$REGISTRY/k8s" \
		--cni-bin-dir "$CNI_BIN_DIR" --cni-conf-dir "$NC_DATA/net.d" \
		--cni-default-network "$DCRI_SUBNET" --cni-default-bridge "$DCRI_BRIDGE" -v 2
	wait_for 30 dockercri dcri_answers || { tail -n 30 "$REPORT/dockercri.log" >&2; die "dockercri did not answer on $DCRI_SOCK"; }
	cgroup_enter "$RUNTIME_CGROUP" "$(cat "$DCRI_PIDFILE")"
	ENDPOINT=unix://$DCRI_SOCK
	PROCESS_NAME=dockercri
	KUBELET_FLAGS=
	# The kubelet's cAdvisor has had no Docker handler since 1.24: it sees
	# Docker's containers as bare cgroups, without their pods. The kubelet
	# takes pod and container stats from the CRI instead (ListPodSandboxStats,
	# ListPodSandboxMetrics) with this gate, which the suite hands its kubelet.
	FEATURE_GATES=${NODE_FEATURE_GATES-PodAndContainerStatsFromCRI=true}
}

# cgroup_enter CGROUP PID: moves a process into CGROUP of every hierarchy
# (cgroup v1 controllers, and v2 or the hybrid's unified one). The suite
# expects the kubelet and the runtime each in a cgroup of its own, the
# "kubelet" and "runtime" system containers of the Summary API: systemd's
# units where it runs the kubelet under systemd-run, else cgroups the kubelet
# makes and moves itself into. It cannot move itself here: it first checks
# it is in the host's pid namespace against /proc/1/ns/pid, which this
# machine's init does not let root read ("failed to find pid namespace of
# init process"). So the kubelet (through a wrapper, bin/kubelet) and the
# runtime are put there before they start their work.
cgroup_enter() {
	local cg=$1 pid=$2 h
	[[ $pid =~ ^[0-9]+$ ]] || die "cgroup_enter: no pid for $cg"
	for h in /sys/fs/cgroup/*/; do
		[[ -e $h/cgroup.procs ]] || continue
		mkdir -p "$h${cg#/}"
		if [[ -e $h${cg#/}/cpuset.cpus && ! -s $h${cg#/}/cpuset.cpus ]]; then
			cat "$h/cpuset.cpus" >"$h${cg#/}/cpuset.cpus"
			cat "$h/cpuset.mems" >"$h${cg#/}/cpuset.mems"
		fi
		echo "$pid" >"$h${cg#/}/cgroup.procs"
	done
}

# cgroup_remove CGROUP: the emptied cgroup's directories.
cgroup_remove() {
	local h
	for h in /sys/fs/cgroup/*/; do
		rmdir "$h${1#/}" 2>/dev/null || true
	done
}

# write_kubelet_wrapper: bin/kubelet, which enters KUBELET_CGROUP (see
# cgroup_enter) and runs the real kubelet in place.
write_kubelet_wrapper() {
	{
		echo '#!/usr/bin/env bash'
		echo 'set -euo pipefail'
		echo 'die() { echo "kubelet wrapper: $*" >&2; exit 1; }'
		declare -f cgroup_enter
		printf 'cgroup_enter %q $$\n' "$KUBELET_CGROUP"
		printf 'exec %q "$@"\n' "$BIN/kubelet"
	} >"$NC_DATA/bin/kubelet.new"
	chmod +x "$NC_DATA/bin/kubelet.new"
	mv -f "$NC_DATA/bin/kubelet.new" "$NC_DATA/bin/kubelet"
}

# forget_suite_images: the suite pulls only what is missing, so the images an
# earlier run pulled go first (critest-images.sh may have rebuilt them).
forget_suite_images() {
	local ids
	mapfile -t ids < <(docker images --no-trunc --format '{{.Repository}} {{.ID}}' |
		awk -v mirror="$REGISTRY/k8s/" 'index($1, "registry.k8s.io/e2e-test-images/") == 1 ||
			index($1, "registry.k8s.io/pause") == 1 || index($1, mirror) == 1 { print $2 }' | sort -u)
	((${#ids[@]} == 0)) || docker rmi -f "${ids[@]}" >/dev/null 2>&1 || true
}

stop_dockercri() {
	remove_pods "unix://$DCRI_SOCK"
	stop_pid "$DCRI_PIDFILE" "unix://$DCRI_SOCK" dockercri 30
	ip link del "$DCRI_BRIDGE" 2>/dev/null || true
}

start_containerd() {
	bash "$E2E_REPO/e2e/env/critest-containerd.sh" start
	local suffix=
	[[ ${CC_ENGINE:-debian} == current ]] && suffix=-current
	ENDPOINT=unix://$E2E_RUN/containerd-cri$suffix/containerd.sock
	PROCESS_NAME=containerd
	# containerd, and the shims it starts from now on, in the runtime's cgroup.
	cgroup_enter "$RUNTIME_CGROUP" "$(cat "$(dirname "${ENDPOINT#unix://}")/containerd.pid")"
	FEATURE_GATES=${NODE_FEATURE_GATES-}
	# The kubelet's cAdvisor finds containerd's containers (and their pods,
	# for /metrics/cadvisor) through containerd's socket, /run/containerd's
	# unless told: this one's is elsewhere.
	KUBELET_FLAGS=--containerd=${ENDPOINT#unix://}
}

stop_containerd() { bash "$E2E_REPO/e2e/env/critest-containerd.sh" stop; }

# remove_pods ENDPOINT: whatever the suite left (a spec cut short by its
# timeout, or the kubelet stopped before it cleaned up).
remove_pods() {
	local id
	for id in $("$BIN/crictl" --runtime-endpoint "$1" pods -q 2>/dev/null); do
		"$BIN/crictl" --runtime-endpoint "$1" stopp "$id" >/dev/null 2>&1 || true
		"$BIN/crictl" --runtime-endpoint "$1" rmp "$id" >/dev/null 2>&1 || true
	done
}

# stop_suite: the suite's kubelet and volume mounts, if the suite was cut
# short (its own teardown stops the kubelet and unmounts).
stop_suite() {
	local m
	# The wrapper execs the kubelet, whose config the suite writes in
	# $NC_DATA/bin.
	pkill -f "^$BIN/kubelet .*$NC_DATA/bin/" 2>/dev/null || true
	while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done < <(awk '$2 ~ "^/var/lib/kubelet/pods/" { print $2 }' /proc/self/mounts | sort -r)
}

# --- the suite ----------------------------------------------------------------
# The kubelet of a cgroup v1 machine without systemd (the kubelet 1.36 refuses
# cgroup v1 unless told), its config file for the suite's kubelet.
write_kubelet_config() {
	cat >"$NC_DATA/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /
cgroupsPerQOS: true
failSwapOn: false
EOF
}

# The suite runs the kubelet under systemd-run when PATH has it; this machine
# has no systemd, so the suite gets a PATH of the same programs without it.
path_without_systemd_run() {
	local farm=$NC_DATA/path d f
	rm -rf "$farm" && mkdir -p "$farm"
	for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
		for f in "$d"/*; do
			[[ -x $f && ! -e $farm/${f##*/} && ${f##*/} != systemd-run ]] && ln -s "$f" "$farm/${f##*/}"
		done
	done
	echo "$farm:/usr/local/go/bin"
}

# patterns FILE: the regular expression of each entry (before " || ").
patterns() {
	local line pattern
	while IFS= read -r line; do
		[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
		pattern=${line%%||*}
		pattern=${pattern%"${pattern##*[![:space:]]}"}
		printf '%s\n' "$pattern"
	done <"$1"
}

# spec_args: the focus (every NodeConformance spec, or the subset's, which
# ginkgo ORs, within that label) and the skips.
spec_args() {
	local p
	if [[ -n ${NODE_FOCUS:-} ]]; then
		printf '%s\0' --label-filter=NodeConformance "--focus=$NODE_FOCUS"
	elif [[ -n $NODE_SUBSET ]]; then
		printf '%s\0' --label-filter=NodeConformance
		while IFS= read -r p; do printf '%s\0' "--focus=$p"; done < <(patterns "$SUBSET_FILE")
	else
		printf '%s\0' '--focus=\[NodeConformance\]'
	fi
	printf '%s\0' '--skip=\[Flaky\]|\[Slow\]|\[Serial\]'
	while IFS= read -r p; do printf '%s\0' "--skip=$p"; done < <(patterns "$SKIP_FILE")
}

# summarize: summary.md from ginkgo's JSON report (states and durations).
summarize() {
	local json=$REPORT/report.json
	[[ -s $json ]] || return 0
	jq -r --arg runtime "$RUNTIME" --arg endpoint "$ENDPOINT" --arg gates "${FEATURE_GATES:-none beyond the defaults}" '
		[.[].SpecReports[] | select(.LeafNodeType == "It")] as $specs
		| ($specs | map(select(.State != "skipped" and .State != "pending"))) as $ran
		| "# Node conformance: \($runtime)\n",
		  "Runtime endpoint `\($endpoint)`; suite e2e_node.test (Kubernetes v1.36.3); feature gates: \($gates).\n",
		  "| passed | failed | skipped | total | time |", "| --- | --- | --- | --- | --- |",
		  "| \($specs | map(select(.State == "passed")) | length) | \($specs | map(select(.State != "passed" and .State != "skipped" and .State != "pending")) | length) | \($specs | map(select(.State == "skipped" or .State == "pending")) | length) | \($specs | length) | \(((.[0].RunTime // 0) / 1e9) | floor) s |\n",
		  "## Specs run (slowest first)\n", "| state | seconds | spec |", "| --- | --- | --- |",
		  ($ran | sort_by(-.RunTime)[] | "| \(.State) | \((.RunTime / 1e8 | floor) / 10) | \((.ContainerHierarchyTexts + [.LeafNodeText]) | join(" ") | gsub("\\|"; "/")) |")
		' "$json" >"$REPORT/summary.md"
	sed -n 5p "$REPORT/summary.md" >&2
}

# --prepull-images stays off: the suite's prepull list has images no spec of
# the focus runs (cadvisor, etcd, perl, the node-perf workloads) and that are
# not built here; each spec pulls what it uses through the mirror.
run_suite() {
	local specs rc=0 path
	mapfile -d '' -t specs < <(spec_args)
	write_kubelet_config
	path=$(path_without_systemd_run)
	# The suite writes the kubelet's config beside the kubelet binary: a
	# directory of our own, not e2e/bin.
	mkdir -p "$NC_DATA/bin" && write_kubelet_wrapper
	log "node conformance against $RUNTIME ($NODE_PROCS processes; output: $REPORT/suite.log)"
	(cd "$REPORT" && PATH=$path "$BIN/ginkgo" --procs="$NODE_PROCS" --no-color --timeout="$NODE_TIMEOUT" \
		"${specs[@]}" --output-dir="$REPORT" \
		--json-report=report.json --junit-report=junit.xml \
		"$BIN/e2e_node.test" -- \
		--k8s-bin-dir="$NC_DATA/bin" --report-dir="$REPORT" \
		--container-runtime-endpoint="$ENDPOINT" --image-service-endpoint="$ENDPOINT" \
		--container-runtime-process-name="$PROCESS_NAME" --container-runtime-pid-file= \
		--kubelet-config-file="$NC_DATA/kubelet.yaml" --node-name="$NODE_NAME" \
		--prepull-images=false ${FEATURE_GATES:+"--feature-gates=$FEATURE_GATES"} \
		--kubelet-flags="--kubelet-cgroups=$KUBELET_CGROUP --runtime-cgroups=$RUNTIME_CGROUP${KUBELET_FLAGS:+ $KUBELET_FLAGS}") >"$REPORT/suite.log" 2>&1 || rc=$?
	grep -E '^(Ran |SUCCESS|FAIL|Test Suite)' "$REPORT/suite.log" >&2 || true
	summarize
	return "$rc"
}

main() {
	local rc=0
	# The suite's API server listens on 127.0.0.1:6443, whoever else does.
	if ss -Hltn 'sport = :6443' | grep -q .; then
		die "127.0.0.1:6443 is taken (the suite's API server needs it): $(ss -Hltnp 'sport = :6443')"
	fi
	rm -rf "$REPORT" && mkdir -p "$REPORT" "$NC_DATA"
	"start_$RUNTIME"
	trap 'stop_suite; stop_$RUNTIME; cgroup_remove "$RUNTIME_CGROUP"; cgroup_remove "$KUBELET_CGROUP"' EXIT
	run_suite || rc=$?
	return "$rc"
}

main
