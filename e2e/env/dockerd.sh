#!/usr/bin/env bash
# Stops and starts only the private dockerd of the e2e environment, for tests
# that take Docker away under a running dockercri. containerd, the bridge and
# the registries keep running; `start` after `stop` brings back the same
# daemon with the same data root.
#   usage: dockerd.sh start|stop|restart|status
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || die "run as root"
[[ -d $DOCKER_DATA_ROOT ]] || die "no e2e environment: run e2e/env/up.sh first"
case ${1:-} in
start) start_dockerd ;;
stop) stop_dockerd ;;
restart)
	stop_dockerd
	start_dockerd
	;;
status)
	if dockerd_running && docker_answers; then
		echo "running (pid $(<"$DOCKER_PIDFILE"))"
	else
		echo "stopped"
		exit 3
	fi
	;;
*) die "usage: $0 start|stop|restart|status" ;;
esac
