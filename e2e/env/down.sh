#!/usr/bin/env bash
# Stops dockercri's e2e environment: registries, and each instance's private
# dockerd and containerd (with any container they left behind) and bridge.
#   --purge  also deletes /var/lib/dockercri-e2e (images, registries, cache).
# Only processes recorded in our pidfiles (and checked against their command
# line), shims of our own containerd socket and tasks of our own cgroup are
# signalled: a Docker already on the machine is never touched. Idempotent.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=0
case ${1:-} in
--purge) purge=1 ;;
"") ;;
*) die "usage: $0 [--purge]" ;;
esac
[[ $EUID -eq 0 ]] || die "run as root"

# Our cgroup parent under every hierarchy (cgroup v1), or the unified one (v2).
e2e_cgroups() {
	local d
	for d in /sys/fs/cgroup/*"$E2E_CGROUP_PARENT"/ "/sys/fs/cgroup$E2E_CGROUP_PARENT/"; do
		[[ -d $d ]] && echo "$d"
	done
	return 0
}

# shim_socket PID: the socket a containerd-shim-runc-v2 of our containerd
# listens on (containerd 1.6's shim.SocketAddress).
shim_socket() {
	local argv=() i ns="" id=""
	mapfile -d '' -t argv 2>/dev/null <"/proc/$1/cmdline" || return 0
	for ((i = 0; i + 1 < ${#argv[@]}; i++)); do
		case ${argv[i]} in
		-namespace) ns=${argv[i + 1]} ;;
		-id) id=${argv[i + 1]} ;;
		esac
	done
	[[ -n $ns && -n $id ]] || return 0
	echo "/run/containerd/s/$(printf '%s' "$CONTAINERD_SOCK/$ns/$id" | sha256sum | cut -d' ' -f1)"
}

# Shims of our containerd (they outlive it: matched on their exact
# `-address <our socket>` arguments) and whatever still runs in our cgroup
# parent, if dockerd did not stop its containers.
kill_leftovers() {
	local pids=() sockets=() pid d cg
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[[ $(cat "$d/comm" 2>/dev/null) == containerd-shim* ]] || continue
		has_arg "$pid" -address "$CONTAINERD_SOCK" || continue
		pids+=("$pid")
		sockets+=("$(shim_socket "$pid")")
	done
	while read -r cg; do
		mapfile -t -O "${#pids[@]}" pids < <(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)
	done < <(e2e_cgroups)
	for pid in $(printf '%s\n' "${pids[@]}" | sort -un); do
		[[ $pid =~ ^[0-9]+$ && $pid -gt 1 && $pid != "$$" ]] || continue
		log "killing leftover pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80))"
		kill -KILL "$pid" 2>/dev/null || true
	done
	sleep 0.2
	# A killed shim leaves its socket behind; containerd 1.6 puts them all in
	# /run/containerd/s, named after our socket, namespace and id.
	for d in "${sockets[@]}"; do
		[[ -n $d ]] && rm -f "$d"
	done
	# Empty cgroups, deepest first.
	while read -r cg; do
		find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done < <(e2e_cgroups)
}

# Unmount whatever is still mounted below our directories (overlay layers,
# container shm, netns files), deepest first.
unmount_below() {
	local dir mp
	for dir in "$@"; do
		awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
			while read -r mp; do
				umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
			done
	done
}

# instance_down ENGINE STORE stops one instance: its dockerd, what its containerd left running, its containerd,
# mounts and bridge. Data stays.
instance_down() {
	select_instance "$1" "$2"
	stop_dockerd
	kill_leftovers
	stop_pid "$CONTAINERD_PIDFILE" "$CONTAINERD_CONFIG" "containerd ($INSTANCE)" 20
	unmount_below "$INSTANCE_RUN" "$INSTANCE_DATA"
	if ip link show "$E2E_BRIDGE" >/dev/null 2>&1; then
		log "removing bridge $E2E_BRIDGE"
		ip link delete "$E2E_BRIDGE" type bridge
	fi
	# Runtime state goes; logs stay for a post-mortem until --purge.
	rm -rf "$DOCKER_EXEC_ROOT" "$CONTAINERD_STATE" "$DOCKER_SOCK"
}

stop_pid "$E2E_RUN/registry-open.pid" "$REGISTRY_DIR/open.yml" "registry open" 10
stop_pid "$E2E_RUN/registry-auth.pid" "$REGISTRY_DIR/auth.yml" "registry auth" 10
for inst in "${INSTANCES[@]}"; do
	(instance_down "${inst%%-*}" "${inst#*-}")
done
unmount_below "$E2E_RUN" "$E2E_DATA"
# Directories that dockerd and containerd hard-code outside our roots
# (/run/docker/plugins, /run/containerd/s): removed only while empty, so a
# system Docker's or containerd's own files are never touched.
rmdir /run/containerd/s /run/containerd 2>/dev/null || true
if [[ -d /run/docker && $(ls -A /run/docker) == plugins ]]; then
	rmdir /run/docker/plugins /run/docker 2>/dev/null || true
fi
rm -f "$E2E_ENV_FILE"
if ((purge)); then
	log "purging $E2E_DATA and $E2E_RUN"
	rm -rf "$E2E_DATA" "$E2E_RUN"
fi
log "down"
