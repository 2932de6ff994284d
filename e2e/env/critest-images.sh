#!/usr/bin/env bash
# Builds, offline, every image critest (sigs.k8s.io/cri-tools v1.34.0) and the
# node conformance suite (k8s.io/kubernetes/test/e2e_node v1.36.3, the
# [NodeConformance] specs) ask for and pushes them to the open local registry
# under a mirror layout:
#   registry.k8s.io/<path>:<tag> -> 127.0.0.1:5000/k8s/<path>:<tag>
#   gcr.io/<path>:<tag>          -> 127.0.0.1:5000/gcr/<path>:<tag>
# dockercri's --registry-mirror registry.k8s.io=http://127.0.0.1:5000/k8s (and
# gcr.io=...) then pulls them under the names critest uses.
#
# Everything comes from Debian packages (apt-get download, cached under
# $BUILD_DIR/critest/debs, so later runs need no network) and from this
# script: Debian's dynamic busybox (the static one runs `ls` as a built-in,
# which defeats the MaskedPaths spec) with hard-linked applets like the real
# busybox image, util-linux's ipcs, ipcmk and ipcrm and procps' pgrep (which
# the specs run and Debian's busybox lacks), Debian's nginx, busybox httpd,
# and agnhost (e2e/bin/agnhost, built by node-e2e.sh from Kubernetes' source
# at the suite's version). Packages are
# extracted (dpkg-deb -x), never installed, so the host's busybox-static
# stays as up.sh wants it. Each binary is copied with the closure of the
# shared libraries it needs, taken from the same extracted packages.
#
# Idempotent: an image whose inputs hash the same and that the registry still
# serves is skipped. Needs the environment of e2e/env/up.sh (dockerd and the
# open registry) and root.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || die "run as root"
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
start_time=$SECONDS

CT_DIR=$BUILD_DIR/critest
DEB_CACHE=$CT_DIR/debs
DEB_ROOT=$CT_DIR/debroot
ARCH=$(go env GOARCH) # critest's hostnet image is named after runtime.GOARCH
AGNHOST_BIN=$E2E_REPO/e2e/bin/agnhost
AGNHOST_FILES=$E2E_REPO/e2e/bin/agnhost-files

# Debian packages the images are made of. The library packages are exactly
# the closure of the binaries taken (busybox, ipcs, pgrep, nginx); a missing
# one makes the build fail naming the library.
CRITEST_DEBS=(
	busybox libc6                                        # the base
	util-linux                                           # ipcs (HostIpc specs)
	procps libproc2-0 libsystemd0 libcap2 libgcrypt20    # pgrep (execSync timeout spec)
	libgpg-error0 liblzma5 libzstd1 liblz4-1
	nginx nginx-common libcrypt1 libpcre2-8-0 libssl3 zlib1g # nginx
	curl libcurl4 libbrotli1 libgssapi-krb5-2 libkrb5-3      # curl (agnhost)
	libk5crypto3 libcom-err2 libkrb5support0 libkeyutils1 libidn2-0 libunistring2
	libldap-2.5-0 libsasl2-2 libgnutls30 libp11-kit0 libffi8 libtasn1-6
	libnettle8 libhogweed6 libgmp10 libnghttp2-14 libpsl5 librtmp1 libssh2-1
	bash libtinfo6                                       # agnhost's bash
	netcat-openbsd libbsd0 libmd0                        # agnhost's nc (-u)
)

# The images: "<mirror repo>:<tag> <kind>". The mirror repo is the name
# critest asks for with registry.k8s.io/ replaced by k8s/ and gcr.io/ by gcr/.
K8S=k8s/e2e-test-images
GCR=gcr/k8s-staging-cri-tools
CRITEST_IMAGES=(
	"$K8S/busybox:1.29-2 base"                          # the default container image
	"$K8S/nginx:1.14-2 nginx"                           # web server on :80, /var/run/nginx.pid
	"$K8S/httpd:2.4.39-4 httpd"                         # multi-container specs: :80, logs "httpd"
	"$K8S/nonewprivs:1.3 nonewprivs"                    # setuid-root nnp: "Effective uid: N"
	"$GCR/hostnet-nginx-$ARCH:latest hostnet-nginx"     # nginx on :12003 (host network)
	"$GCR/test-image-user-uid:latest user=1002"
	"$GCR/test-image-user-username:latest user=www-data"
	"$GCR/test-image-user-uid-group:latest user=1003:1004"
	"$GCR/test-image-user-username-group:latest user=www-data:1004"
	"$GCR/test-image-predefined-group:latest predefined-group" # uid 1000, in group 50000
	"$GCR/test-image-latest:latest file=test-image-latest"
	"$GCR/test-image-tag:test file=test"
	"$GCR/test-image-tag:all file=all"
	"$GCR/test-image-1:latest file=test-image-1"
	"$GCR/test-image-2:latest file=test-image-2"
	"$GCR/test-image-3:latest file=test-image-3"
	# One image under three tags (built once, pushed three times).
	"$GCR/test-image-tags:1 file=same-image"
	"$GCR/test-image-tags:2 file=same-image"
	"$GCR/test-image-tags:3 file=same-image"
	# The node conformance suite's (test/utils/image/manifest.go at v1.36.3).
	"$K8S/busybox:1.37.0-1 busybox-ash"                 # BusyBox (see make_ash_rootfs)
	"$K8S/agnhost:2.63.0 agnhost"                       # Agnhost
	"$K8S/agnhost:2.55 agnhost"                         # AgnhostPrev
	"$K8S/nginx:1.15-4 nginx"                           # Nginx
	"$K8S/nonewprivs:1.4 nonewprivs"                    # Nonewprivs
	"$K8S/nonroot:1.5 user=1234"                        # NonRoot: test/images/nonroot is busybox + USER 1234
	"$K8S/ipc-utils:1.4 base"                           # IpcUtils: a shell with util-linux's ipc tools
	"$K8S/glibc-dns-testing:2.0.0 base"                 # GlibcDnsTesting: a glibc resolver and a shell
	# Not built: gcr.io/k8s-staging-cri-tools/test-image-digest@sha256:9700f9a2...
	# is pinned to a digest no rebuild can reproduce (see e2e/critest-skip.txt).
)

# --- packages -----------------------------------------------------------------
ensure_host_tools() {
	# readelf (binutils) reads the libraries a binary needs; gcc, make and
	# patch build the node suite's ash (make_ash_rootfs).
	local t missing=()
	for t in readelf:binutils dpkg-deb:dpkg gcc:gcc make:make patch:patch bzip2:bzip2 xz:xz-utils; do
		command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
	done
	((${#missing[@]} == 0)) && return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" libc6-dev >/dev/null
}

cached_deb() { # package: prints the cached .deb, if any
	local f
	for f in "$DEB_CACHE/$1"_*.deb; do
		[[ -f $f ]] && { echo "$f"; return 0; }
	done
	return 1
}

fetch_debs() {
	local p missing=()
	mkdir -p "$DEB_CACHE"
	for p in "${CRITEST_DEBS[@]}"; do
		cached_deb "$p" >/dev/null || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	log "downloading ${missing[*]} (Debian packages, cached in $DEB_CACHE)"
	# apt-get download writes into the current directory; the sandbox user
	# _apt cannot write to a root-only directory, hence Sandbox::User=root.
	if ! (cd "$DEB_CACHE" && quiet apt-get download -o APT::Sandbox::User=root "${missing[@]}"); then
		apt-get update -qq
		(cd "$DEB_CACHE" && quiet apt-get download -o APT::Sandbox::User=root "${missing[@]}")
	fi
}

extract_debs() {
	local p
	rm -rf "$DEB_ROOT" && mkdir -p "$DEB_ROOT"
	for p in "${CRITEST_DEBS[@]}"; do
		dpkg-deb -x "$(cached_deb "$p")" "$DEB_ROOT"
	done
}

# --- rootfs helpers -----------------------------------------------------------
# install_path ROOT REL [BASE]: copies DEB_ROOT/REL into ROOT/REL (a symlink
# as a symlink, then its target too), unless BASE already has it.
install_path() {
	local root=$1 rel=${2#/} base=${3:-} target
	[[ -n $base && (-e $base/$rel || -L $base/$rel) ]] && return 0
	[[ -e $root/$rel || -L $root/$rel ]] && return 0
	[[ -e $DEB_ROOT/$rel || -L $DEB_ROOT/$rel ]] || die "$rel is in none of the packages (${CRITEST_DEBS[*]})"
	mkdir -p "$root/$(dirname "$rel")"
	cp -a "$DEB_ROOT/$rel" "$root/$rel"
	if [[ -L $DEB_ROOT/$rel ]]; then
		target=$(readlink "$DEB_ROOT/$rel")
		[[ $target == /* ]] || target=$(dirname "$rel")/$target
		install_path "$root" "$target" "$base"
	fi
}

find_lib() { # soname: prints the path (relative to DEB_ROOT) of the library
	local d
	for d in "$DEB_ROOT"/lib/*-linux-gnu "$DEB_ROOT"/usr/lib/*-linux-gnu "$DEB_ROOT"/lib "$DEB_ROOT"/usr/lib; do
		if [[ -e $d/$1 || -L $d/$1 ]]; then
			echo "${d#"$DEB_ROOT"/}/$1"
			return 0
		fi
	done
	return 1
}

# install_binary ROOT REL [BASE]: the binary, its ELF interpreter and the
# closure of the shared libraries it needs, all from DEB_ROOT.
install_binary() {
	local root=$1 rel=${2#/} base=${3:-} todo=("${2#/}") seen=" " f lib interp path
	install_path "$root" "$rel" "$base"
	while ((${#todo[@]})); do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		interp=$(readelf -lW "$DEB_ROOT/$f" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
		[[ -n $interp ]] && install_path "$root" "$interp" "$base"
		while read -r lib; do
			[[ $seen == *" $lib "* ]] && continue
			seen+="$lib "
			path=$(find_lib "$lib") || die "$lib (needed by $f) is in none of the packages (${CRITEST_DEBS[*]}): add its package to CRITEST_DEBS"
			install_path "$root" "$path" "$base"
			todo+=("$path")
		done < <(readelf -dW "$DEB_ROOT/$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	done
}

pack() { # dir tarfile
	tar -C "$1" --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -cf "$2" .
}

PASSWD='root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
'
GROUP='root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
www-data:x:33:
nogroup:x:65534:
'
# test-image-predefined-group: upstream runs `adduser -u 1000 -D default-user
# && addgroup -g 50000 group-defined-in-image && addgroup default-user group-defined-in-image`.
PREDEFINED_PASSWD="${PASSWD}default-user:x:1000:1000::/home/default-user:/bin/sh
"
PREDEFINED_GROUP="${GROUP}default-user:x:1000:
group-defined-in-image:x:50000:default-user
"

# The base (registry.k8s.io/e2e-test-images/busybox:1.29-2 and 1.37.0-1):
# Debian's dynamic busybox, each applet a hard link to it (as in the real
# image: a masked /bin/ls must not mask the shell) at its usual path and in
# /bin (where the real image has them all: the specs run /bin/sysctl), plus
# ipcs, ipcmk, ipcrm, pgrep and nmeter (an applet Debian's busybox lacks).
make_base_rootfs() { # dir: writes dir/base.tar
	local root=$1/base applet
	rm -rf "$root" && mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,run,var,home}
	chmod 1777 "$root/tmp"
	chmod 700 "$root/root"
	ln -s ../run "$root/var/run"
	install_binary "$root" bin/busybox
	install_binary "$root" usr/bin/ipcs
	install_binary "$root" usr/bin/ipcmk
	install_binary "$root" usr/bin/ipcrm
	install_binary "$root" usr/bin/pgrep
	while read -r applet; do
		for applet in "$applet" "bin/${applet##*/}"; do
			[[ -e $root/$applet || -L $root/$applet ]] && continue
			mkdir -p "$root/$(dirname "$applet")"
			ln "$root/bin/busybox" "$root/$applet"
		done
	done < <("$DEB_ROOT/bin/busybox" --list-full)
	go_program nmeter "$NMETER_MAIN" "$root/bin/nmeter"
	printf '%s' "$PASSWD" >"$root/etc/passwd"
	printf '%s' "$GROUP" >"$root/etc/group"
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
	pack "$root" "$1/base.tar"
	rm -rf "$root"
}

# nginx (registry.k8s.io/e2e-test-images/nginx:1.14-2): Debian's nginx and its
# configuration, pid in /run/nginx.pid (= /var/run/nginx.pid), logs to the
# container's stdout/stderr like the official image, a server on port 80.
NGINX_CONF='server {
    listen       80;
    server_name  localhost;
    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }
}
'
# hostnet-nginx: cri-tools' images/hostnet-nginx/default.conf, port 12003.
HOSTNET_NGINX_CONF=${NGINX_CONF/listen       80;/listen       12003;}

make_nginx_rootfs() { # dir base-dir: writes dir/nginx.tar
	local root=$1/nginx base=$2
	rm -rf "$root" && mkdir -p "$root"
	install_binary "$root" usr/sbin/nginx "$base"
	mkdir -p "$root/etc" "$root/usr/share/nginx" "$root/var/lib/nginx" "$root/var/log/nginx"
	cp -a "$DEB_ROOT/etc/nginx" "$root/etc/nginx"
	cp -a "$DEB_ROOT/usr/share/nginx/html" "$root/usr/share/nginx/html"
	printf '%s' "$NGINX_CONF" >"$root/etc/nginx/conf.d/default.conf"
	ln -s /dev/stdout "$root/var/log/nginx/access.log"
	ln -s /dev/stderr "$root/var/log/nginx/error.log"
	pack "$root" "$1/nginx.tar"
	rm -rf "$root"
}

# httpd (registry.k8s.io/e2e-test-images/httpd:2.4.39-4): the multi-container
# specs want a web server on port 80 whose log mentions "httpd", and a shell.
# busybox's httpd in the foreground, started by an httpd-foreground like the
# official image's, which says what it serves on stderr.
HTTPD_FOREGROUND='#!/bin/sh
echo "httpd-foreground: busybox httpd serving /usr/local/apache2/htdocs on :80" >&2
exec httpd -f -v -p 80 -h /usr/local/apache2/htdocs
'
make_httpd_rootfs() { # dir: writes dir/httpd.tar
	local root=$1/httpd
	rm -rf "$root" && mkdir -p "$root/usr/local/bin" "$root/usr/local/apache2/htdocs"
	printf '%s' "$HTTPD_FOREGROUND" >"$root/usr/local/bin/httpd-foreground"
	chmod 755 "$root/usr/local/bin/httpd-foreground"
	printf '<html><body><h1>It works!</h1></body></html>\n' >"$root/usr/local/apache2/htdocs/index.html"
	pack "$root" "$1/httpd.tar"
	rm -rf "$root"
}

# nonewprivs (registry.k8s.io/e2e-test-images/nonewprivs:1.3): a setuid-root
# program printing its effective uid (kubernetes' test/images/nonewprivs/nnp.c),
# here in Go. It goes in as a tar: a `docker build` COPY drops the setuid bit.
NNP_MAIN='package main

import (
	"fmt"
	"os"
)

func main() { fmt.Printf("Effective uid: %d\n", os.Geteuid()) }
'
make_nnp_rootfs() { # dir: writes dir/nnp.tar
	local root=$1/nnp
	rm -rf "$root" && mkdir -p "$root/usr/local/bin"
	go_program nnp "$NNP_MAIN" "$root/usr/local/bin/nnp"
	chmod 4755 "$root/usr/local/bin/nnp"
	pack "$root" "$1/nnp.tar"
	rm -rf "$root"
}

# go_program NAME SOURCE OUT: builds a one-file Go program, static.
go_program() {
	local src
	src=$(mktemp -d)
	printf '%s' "$2" >"$src/main.go"
	printf 'module %s\n\ngo 1.21\n' "$1" >"$src/go.mod"
	(cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags '-s -w' -o "$3" .)
	rm -rf "$src"
}

# nmeter: the part of busybox's nmeter the node suite uses to read the time to
# the millisecond (`nmeter -d0 '%3t' | head -n1`): FORMAT printed every -d
# milliseconds, %[N]t being the time of day with N decimals, until the reader
# goes away.
NMETER_MAIN='package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	delay, args := time.Second, os.Args[1:]
	for len(args) > 1 && strings.HasPrefix(args[0], "-d") {
		v := strings.TrimPrefix(args[0], "-d")
		if v == "" {
			v, args = args[1], args[1:]
		}
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			fmt.Fprintln(os.Stderr, "nmeter: bad delay", v)
			os.Exit(1)
		}
		delay, args = time.Duration(ms)*time.Millisecond, args[1:]
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: nmeter [-d MSEC] FORMAT")
		os.Exit(1)
	}
	for {
		if _, err := os.Stdout.WriteString(expand(args[0], time.Now()) + "\n"); err != nil {
			os.Exit(0)
		}
		time.Sleep(delay)
	}
}

func expand(format string, now time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		j, n := i+1, 0
		for format[i] == 0x25 && j < len(format) && format[j] >= 0x30 && format[j] <= 0x39 {
			n, j = n*10+int(format[j]-0x30), j+1
		}
		if format[i] != 0x25 || j >= len(format) || format[j] != 0x74 {
			b.WriteByte(format[i])
			continue
		}
		layout := "15:04:05"
		if n > 0 {
			layout += "." + strings.Repeat("0", min(n, 9))
		}
		b.WriteString(now.Format(layout))
		i = j
	}
	return b.String()
}
'


# agnhost (registry.k8s.io/e2e-test-images/agnhost): test/images/agnhost's
# Dockerfile on our base: /agnhost (static, from e2e/bin), the agnhost-2 link,
# /uploads, curl, bash and OpenBSD's nc (UDP), the TLS pair /localhost.{crt,key}, and the user and
# group it defines (uid 1000 in group 50000).
AGNHOST_PASSWD="${PASSWD}user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh
"
AGNHOST_GROUP="${GROUP}user-defined-in-image:x:1000:
group-defined-in-image:x:50000:user-defined-in-image
"
make_agnhost_rootfs() { # dir base-dir: writes dir/agnhost.tar
	local root=$1/agnhost base=$2
	[[ -x $AGNHOST_BIN ]] || die "$AGNHOST_BIN is missing: run e2e/env/node-e2e.sh"
	rm -rf "$root" && mkdir -p "$root/etc" "$root/uploads" "$root/home/user-defined-in-image"
	install_binary "$root" usr/bin/curl "$base" # the specs' hooks and probes run curl in agnhost
	install_binary "$root" bin/bash "$base"     # and bash
	install_binary "$root" bin/nc.openbsd "$base"
	mkdir -p "$root/usr/local/bin" && ln -s /bin/nc.openbsd "$root/usr/local/bin/nc" # before busybox's in PATH
	cp "$AGNHOST_FILES"/localhost.crt "$AGNHOST_FILES"/localhost.key "$root/"
	cp "$AGNHOST_BIN" "$root/agnhost"
	ln -s agnhost "$root/agnhost-2"
	printf '%s' "$AGNHOST_PASSWD" >"$root/etc/passwd"
	printf '%s' "$AGNHOST_GROUP" >"$root/etc/group"
	pack "$root" "$1/agnhost.tar"
	rm -rf "$root"
}

# busybox:1.37.0-1's ash keeps environment variables whose names are not
# shell names (a secret's key "data-1" in `sh -c env`: a Conformance spec),
# as upstream's ash has since 1.27 (commit 9c143ce5). Debian's busybox drops
# them: two of its patches revert that for the installer. So the node suite's
# busybox gets as /bin/sh and /bin/ash Debian's busybox built from Debian's
# source, patches and config, less those two (the same ash otherwise, down
# to its error messages, which other specs compare).
BUSYBOX_SRC=$CT_DIR/busybox-src
BUSYBOX_UNPATCHED=" revert-9c143ce52da11ec3d21a3491c3749841d3dc10f0.patch temp-deb-installer-hack.patch "

fetch_busybox_source() { # Debian's source package, cached in BUSYBOX_SRC
	local apt
	compgen -G "$BUSYBOX_SRC/busybox_*.dsc" >/dev/null && return 0
	log "downloading busybox's Debian source (cached in $BUSYBOX_SRC)"
	mkdir -p "$BUSYBOX_SRC/lists/partial"
	echo "deb-src http://deb.debian.org/debian bookworm main" >"$BUSYBOX_SRC/sources.list"
	apt=(-o "Dir::Etc::SourceList=$BUSYBOX_SRC/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$BUSYBOX_SRC/lists" -o APT::Sandbox::User=root)
	(cd "$BUSYBOX_SRC" && quiet apt-get "${apt[@]}" update && quiet apt-get "${apt[@]}" source --download-only busybox)
}

make_ash_rootfs() { # dir base-dir: writes dir/ash.tar
	local root=$1/ash base=$2 src=$1/busybox-build p lib
	rm -rf "$root" "$src" && mkdir -p "$root/bin" "$src"
	tar -C "$src" --strip-components=1 -xjf "$(compgen -G "$BUSYBOX_SRC/busybox_*.orig.tar.bz2")"
	tar -C "$src" -xJf "$(compgen -G "$BUSYBOX_SRC/busybox_*.debian.tar.xz")"
	while read -r p; do
		[[ -z $p || $p == \#* || $BUSYBOX_UNPATCHED == *" $p "* ]] && continue
		patch -d "$src" -p1 -s <"$src/debian/patches/$p"
	done <"$src/debian/patches/series"
	cp "$src/debian/config/pkg/deb" "$src/.config"
	(cd "$src" && { yes "" || true; } | quiet make oldconfig && quiet make -j"$(nproc)" busybox)
	cp "$src/busybox" "$root/bin/sh"
	ln "$root/bin/sh" "$root/bin/ash"
	while read -r lib; do # its libraries, from the same libc6 as the base's
		install_path "$root" "$(find_lib "$lib")" "$base"
	done < <(readelf -dW "$src/busybox" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	pack "$root" "$1/ash.tar"
	rm -rf "$root" "$src"
}

dockerfile() { # kind
	local kind=$1
	case $kind in
	base) printf 'FROM scratch\nADD base.tar /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["sh"]\n' ;;
	nginx) printf 'FROM dcri-critest/base:build\nADD nginx.tar /\nEXPOSE 80\nSTOPSIGNAL SIGQUIT\nCMD ["nginx", "-g", "daemon off;"]\n' ;;
	hostnet-nginx) printf 'FROM dcri-critest/nginx:build\nCOPY hostnet-nginx.conf /etc/nginx/conf.d/default.conf\nEXPOSE 12003\n' ;;
	httpd) printf 'FROM dcri-critest/base:build\nADD httpd.tar /\nEXPOSE 80\nCMD ["httpd-foreground"]\n' ;;
	nonewprivs) printf 'FROM dcri-critest/base:build\nADD nnp.tar /\nENTRYPOINT ["/usr/local/bin/nnp"]\n' ;;
	busybox-ash) printf 'FROM dcri-critest/base:build\nADD ash.tar /\n' ;;
	agnhost) printf 'FROM dcri-critest/base:build\nADD agnhost.tar /\nEXPOSE 80 8080 8081 9376 5000\nENTRYPOINT ["/agnhost"]\nCMD ["pause"]\n' ;;
	user=*) printf 'FROM dcri-critest/base:build\nUSER %s\n' "${kind#user=}" ;;
	predefined-group) printf 'FROM dcri-critest/base:build\nCOPY predefined-passwd /etc/passwd\nCOPY predefined-group /etc/group\nUSER 1000\n' ;;
	# cri-tools' images/image-test: busybox plus an empty file named after the image.
	file=*) printf 'FROM dcri-critest/base:build\nCOPY %s /%s\n' "${kind#file=}" "${kind#file=}" ;;
	*) die "unknown image kind $kind" ;;
	esac
}

local_tag() { # kind: the local build tag of an image kind
	case $1 in
	base | nginx) echo "dcri-critest/$1:build" ;;
	*) echo "dcri-critest/${1//[=:]/-}:build" ;; # kinds are lower case
	esac
}

# --- registry -----------------------------------------------------------------
hash_file() { # repo tag
	local f=${1//\//_}
	echo "$CT_DIR/hash/$f:$2"
}

manifest_digest() { # repo tag: the registry's Docker-Content-Digest
	curl -sf --max-time 5 -I "${MANIFEST_ACCEPT[@]}" "http://$REGISTRY/v2/$1/manifests/$2" |
		tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}

# copy_in_registry SRC_REPO TAG DST_REPO [DST_TAG]: copies a manifest and its
# blobs inside the registry (blob mounts), without pulling into the shared
# dockerd.
copy_in_registry() {
	local src=$1 tag=$2 dst=$3 dtag=${4:-$2} tmp digest ctype code d
	digest=$(manifest_digest "$src" "$tag")
	[[ -n $digest ]] || die "$REGISTRY/$src:$tag not found: run e2e/env/up.sh first"
	if [[ $(manifest_digest "$dst" "$dtag") == "$digest" ]]; then
		log "$REGISTRY/$dst:$dtag up to date"
		return 0
	fi
	log "copying $REGISTRY/$src:$tag to $REGISTRY/$dst:$dtag"
	tmp=$(mktemp -d)
	curl -sf --max-time 10 -D "$tmp/headers" -o "$tmp/manifest" "${MANIFEST_ACCEPT[@]}" "http://$REGISTRY/v2/$src/manifests/$tag"
	ctype=$(tr -d '\r' <"$tmp/headers" | sed -n 's/^[Cc]ontent-[Tt]ype: //p')
	while read -r d; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST \
			"http://$REGISTRY/v2/$dst/blobs/uploads/?mount=$d&from=$src")
		[[ $code == 201 ]] || die "mounting blob $d from $src into $dst: HTTP $code"
	done < <(grep -o 'sha256:[0-9a-f]\{64\}' "$tmp/manifest" | sort -u)
	curl -sf --max-time 10 -o /dev/null -X PUT -H "Content-Type: $ctype" --data-binary "@$tmp/manifest" \
		"http://$REGISTRY/v2/$dst/manifests/$dtag"
	rm -rf "$tmp"
}

# --- main ---------------------------------------------------------------------
build_images() {
	local hash entry ref repo tag kind todo=() kinds=" " ctx k
	hash=$({
		for p in "${CRITEST_DEBS[@]}"; do sha256sum "$(cached_deb "$p")" | cut -d' ' -f1; done
		go version
		# contents only: the paths differ from one clone to another
		sha256sum "$AGNHOST_BIN" "$AGNHOST_FILES"/* "$BUSYBOX_SRC"/busybox_*.dsc | cut -d' ' -f1
		declare -f make_base_rootfs make_nginx_rootfs make_httpd_rootfs make_nnp_rootfs make_agnhost_rootfs make_ash_rootfs go_program \
			install_binary install_path find_lib pack dockerfile
		printf '%s' "$PASSWD$GROUP$PREDEFINED_PASSWD$PREDEFINED_GROUP$NGINX_CONF$HOSTNET_NGINX_CONF$HTTPD_FOREGROUND$NNP_MAIN"
		printf '%s' "$AGNHOST_PASSWD$AGNHOST_GROUP$NMETER_MAIN"
	} | sha256sum | cut -d' ' -f1)
	for entry in "${CRITEST_IMAGES[@]}"; do
		read -r ref kind <<<"$entry"
		repo=${ref%:*} tag=${ref##*:}
		up_to_date "$(hash_file "$repo" "$tag")" "$hash" "$repo" "$tag" "$REGISTRY" || todo+=("$entry")
	done
	if ((${#todo[@]} == 0)); then
		log "critest images up to date (${#CRITEST_IMAGES[@]} in $REGISTRY/{k8s,gcr}/)"
		return 0
	fi
	log "building $((${#todo[@]})) critest image(s)"
	ctx=$CT_DIR/ctx
	rm -rf "$ctx" && mkdir -p "$ctx" "$CT_DIR/hash"
	extract_debs
	make_base_rootfs "$ctx"
	# The layers the others add on the base.
	mkdir -p "$ctx/base-root" && tar -C "$ctx/base-root" -xf "$ctx/base.tar"
	make_nginx_rootfs "$ctx" "$ctx/base-root"
	make_agnhost_rootfs "$ctx" "$ctx/base-root"
	make_ash_rootfs "$ctx" "$ctx/base-root"
	rm -rf "$ctx/base-root"
	make_httpd_rootfs "$ctx"
	make_nnp_rootfs "$ctx"
	printf '%s' "$HOSTNET_NGINX_CONF" >"$ctx/hostnet-nginx.conf"
	printf '%s' "$PREDEFINED_PASSWD" >"$ctx/predefined-passwd"
	printf '%s' "$PREDEFINED_GROUP" >"$ctx/predefined-group"
	for k in test-image-latest test all test-image-1 test-image-2 test-image-3 same-image; do
		: >"$ctx/$k"
	done
	# base and nginx first: the others start FROM them.
	for k in base nginx; do
		dockerfile "$k" >"$ctx/Dockerfile.$k"
		quiet docker build -t "$(local_tag "$k")" -f "$ctx/Dockerfile.$k" "$ctx"
		kinds+="$k "
	done
	for entry in "${todo[@]}"; do
		read -r ref kind <<<"$entry"
		repo=${ref%:*} tag=${ref##*:}
		if [[ $kinds != *" $kind "* ]]; then
			dockerfile "$kind" >"$ctx/Dockerfile.x"
			quiet docker build -t "$(local_tag "$kind")" -f "$ctx/Dockerfile.x" "$ctx"
			kinds+="$kind "
		fi
		log "pushing $REGISTRY/$repo:$tag"
		docker tag "$(local_tag "$kind")" "$REGISTRY/$repo:$tag"
		quiet docker push "$REGISTRY/$repo:$tag"
		docker rmi "$REGISTRY/$repo:$tag" >/dev/null
		echo "$hash" >"$(hash_file "$repo" "$tag")"
	done
	# Derived images first, then nginx and base (their parents).
	for k in $kinds; do
		[[ $k == base || $k == nginx ]] || docker rmi "$(local_tag "$k")" >/dev/null
	done
	docker rmi "$(local_tag nginx)" "$(local_tag base)" >/dev/null
	rm -rf "$ctx" "$DEB_ROOT"
}

main() {
	docker_answers || die "the private dockerd does not answer on $DOCKER_SOCK: run e2e/env/up.sh first"
	curl -sf --max-time 2 -o /dev/null "http://$REGISTRY/v2/" || die "no registry on $REGISTRY: run e2e/env/up.sh first"
	ensure_host_tools
	fetch_debs
	fetch_busybox_source
	build_images
	# The pause image, for a dockercri left with its default
	# --pod-infra-container-image registry.k8s.io/pause:3.10.
	copy_in_registry pause 3.10 k8s/pause
	# ... and the one the kubelet 1.36 and the node suite name.
	copy_in_registry pause 3.10 k8s/pause 3.10.2
	log "critest images ready in $((SECONDS - start_time))s"
}

main "$@"
