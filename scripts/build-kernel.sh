#!/usr/bin/env bash
# Build (or reuse from cache) the events debug or KCSAN test kernel; print its directory last.
#
# Usage: scripts/build-kernel.sh debug|kcsan
#
# debug: tinyconfig + kernel-config/base.config + debug.config (KASAN, lockdep, kmemleak, ...)
# kcsan: the same plus kernel-config/kcsan.config (KCSAN instead of KASAN)
#
# The last line on stdout is the kernel directory; everything else goes to stderr:
#   DIR/vmlinuz        the bzImage
#   DIR/kernelrelease  e.g. 6.12.117-events-debug
#   DIR/config         the final .config
#   DIR/build/         object directory (O=), usable as KDIR: make -C DIR/build M=... modules
#   DIR/src/           the linux-source tree that DIR/build refers to (by absolute path)
#   DIR/build.log      output of the configuration and build
# DIR is $EVENTS_KERNEL_CACHE/NAME-HASH (default /var/cache/events-kernels/NAME-HASH); HASH covers
# the linux-source package version, the compiler, the fragments and this script. DIR is built
# in place and counts as complete only once DIR/.complete exists; a run that finds DIR without it
# (an interrupted build) deletes it and builds again. Concurrent runs serialize on a flock.
# Missing build dependencies are installed with apt-get (as root).
set -euo pipefail

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
CONF_DIR=$(dirname -- "$SELF")/kernel-config
CACHE_ROOT=${EVENTS_KERNEL_CACHE:-/var/cache/events-kernels}
SRC_PKG=linux-source-6.12
TARBALL=/usr/src/$SRC_PKG.tar.xz
PACKAGES=("$SRC_PKG" flex bison libelf-dev bc libssl-dev xz-utils gcc libc6-dev make cpio kmod)
# Complete cache directories kept per kernel name (the one just used included).
KEEP=2
# Free space needed for one build (source ~1.7 GB, objects ~0.4 GB), in KiB.
NEED_KB=$((3 * 1024 * 1024))

log() { printf 'build-kernel: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
usage() {
	echo "usage: $0 debug|kcsan" >&2
	exit 2
}


# missing_packages: print the packages of PACKAGES that are not fully installed.
missing_packages() {
	local installed
	installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${PACKAGES[@]}" 2>/dev/null |
		sed -n 's/^ii  //p' || true)
	local p
	for p in "${PACKAGES[@]}"; do
		grep -qxF -- "$p" <<<"$installed" || printf '%s\n' "$p"
	done
}

install_packages() {
	local missing
	mapfile -t missing < <(missing_packages)
	((${#missing[@]})) || return 0
	((EUID == 0)) || die "missing packages (run as root to install them): ${missing[*]}"
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2
	apt-get install -y --no-install-recommends "${missing[@]}" >&2
	mapfile -t missing < <(missing_packages)
	((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
}

# cache_key: hash of everything the built kernel depends on.
cache_key() {
	{
		dpkg-query -W -f='${Package} ${Version}\n' "$SRC_PKG"
		gcc --version | head -n 1
		local f
		for f in "${FRAGMENT_FILES[@]}"; do
			printf '== %s\n' "${f##*/}"
			cat -- "$f"
		done
		printf '== build-kernel.sh\n'
		cat -- "$SELF"
	} | sha256sum | cut -c1-16
}

# is_complete DIR: DIR holds a finished build.
is_complete() {
	[[ -f $1/.complete && -f $1/vmlinuz && -f $1/kernelrelease && -f $1/build/Module.symvers ]]
}

# check_config CONFIG FRAGMENT...: print every option of the fragments (the last fragment wins)
# whose value did not end up in CONFIG; "is not set" and absent count as the same.
check_config() {
	local cfg=$1
	shift
	awk -v cfg="$cfg" '
	function kv(line,   f) {
		if (line ~ /^CONFIG_[A-Za-z0-9_]+=/) {
			K = substr(line, 1, index(line, "=") - 1)
			V = substr(line, index(line, "=") + 1)
			return 1
		}
		if (line ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) {
			split(line, f, " ")
			K = f[2]
			V = "n"
			return 1
		}
		return 0
	}
	FILENAME == cfg { if (kv($0)) act[K] = V; next }
	kv($0) { if (!(K in req)) order[++n] = K; req[K] = V }
	END {
		for (i = 1; i <= n; i++) {
			k = order[i]
			a = (k in act) ? act[k] : "n"
			if (a != req[k])
				printf "  %s: requested %s, got %s\n", k, req[k],
					(k in act) ? a : "n (unavailable: unmet dependencies?)"
		}
	}' "$@" "$cfg"
}

# smoke_module KDIR RELEASE: build a trivial out-of-tree module against KDIR the way users will.
smoke_module() {
	local kdir=$1 release=$2 tmp vermagic
	tmp=$(mktemp -d)
	cat >"$tmp/smoke.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
static int __init smoke_init(void) { return 0; }
static void __exit smoke_exit(void) { }
module_init(smoke_init);
module_exit(smoke_exit);
MODULE_LICENSE("GPL");
EOF
	echo 'obj-m := smoke.o' >"$tmp/Kbuild"
	if ! make -C "$kdir" M="$tmp" modules >>"$LOG" 2>&1; then
		rm -rf "$tmp"
		return 1
	fi
	vermagic=$(modinfo -F vermagic "$tmp/smoke.ko")
	rm -rf "$tmp"
	[[ ${vermagic%% *} == "$release" ]] || {
		log "smoke module vermagic '$vermagic' does not match '$release'"
		return 1
	}
}

# prune: drop interrupted builds and all but the KEEP most recently used complete builds of NAME.
prune() {
	local d fd kept=1 entries=()
	mapfile -t entries < <(
		for d in "$CACHE_ROOT/$NAME"-*/; do
			d=${d%/}
			[[ -d $d && $d != "$DIR" ]] || continue
			if [[ -f $d/.complete ]]; then
				printf '%s %s\n' "$(stat -c %Y "$d/.complete")" "$d"
			else
				printf '0 %s\n' "$d"
			fi
		done | sort -rn | cut -d' ' -f2-
	)
	for d in "${entries[@]}"; do
		if [[ -f $d/.complete ]] && ((kept < KEEP)); then
			kept=$((kept + 1))
			continue
		fi
		# Skip directories another run is building right now.
		exec {fd}>"$CACHE_ROOT/.${d##*/}.lock"
		if flock -n "$fd"; then
			log "removing old build $d"
			rm -rf -- "$d"
		fi
		exec {fd}>&-
	done
}

# The whole script is parsed before main runs, so editing this file during a build is safe.
main() {
	[[ $# -eq 1 ]] || usage
	# Nothing from a calling make or the environment may change how the kernel is built.
	unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS KBUILD_OUTPUT KBUILD_EXTMOD \
		KCONFIG_CONFIG KCONFIG_ALLCONFIG CROSS_COMPILE LLVM CC LD KCFLAGS KCPPFLAGS KAFLAGS \
		KRUSTFLAGS ARCH SUBARCH LOCALVERSION INSTALL_MOD_PATH
	NAME=$1
	case $NAME in
	debug) FRAGMENTS=(base debug) ;;
	kcsan) FRAGMENTS=(base debug kcsan) ;;
	*) usage ;;
	esac
	FRAGMENT_FILES=()
	for f in "${FRAGMENTS[@]}"; do
		FRAGMENT_FILES+=("$CONF_DIR/$f.config")
		[[ -r $CONF_DIR/$f.config ]] || die "missing config fragment $CONF_DIR/$f.config"
	done
	umask 022

	install_packages
	[[ -f $TARBALL ]] || die "$TARBALL not found (package $SRC_PKG installed?)"

	KEY=$(cache_key)
	DIR=$CACHE_ROOT/$NAME-$KEY
	if is_complete "$DIR"; then
		touch -c "$DIR/.complete" 2>/dev/null || true
		echo "$DIR"
		exit 0
	fi

	mkdir -p "$CACHE_ROOT" || die "cannot create $CACHE_ROOT (run as root or set EVENTS_KERNEL_CACHE)"
	exec 9>"$CACHE_ROOT/.$NAME-$KEY.lock"
	if ! flock -n 9; then
		log "waiting for another build of $DIR"
		flock 9
	fi
	if is_complete "$DIR"; then
		echo "$DIR"
		exit 0
	fi
	if [[ -e $DIR ]]; then
		log "removing incomplete build $DIR"
		rm -rf -- "$DIR"
	fi
	avail=$(df -Pk -- "$CACHE_ROOT" | awk 'NR == 2 { print $4 }')
	((avail >= NEED_KB)) || die "need $((NEED_KB / 1024)) MB free in $CACHE_ROOT, have $((avail / 1024)) MB"

	SRC=$DIR/src
	B=$DIR/build
	LOG=$DIR/build.log
	JOBS=$(nproc)
	mkdir -p "$SRC" "$B"
	: >"$LOG"
	trap 'rc=$?; if ((rc)); then tail -n 40 "$LOG" >&2 2>/dev/null; log "failed; log: $LOG"; fi' EXIT
	start=$SECONDS

	log "building the $NAME kernel in $DIR (-j$JOBS; 8-10 min on 2 idle cores), log: $LOG"
	xz -T0 -dc -- "$TARBALL" | tar -x -C "$SRC" --strip-components=1
	log "extracted $SRC_PKG in $((SECONDS - start)) s"

	# The whole build uses ARCH=x86_64 (tinyconfig would otherwise default to a 32-bit x86 config);
	# out-of-tree modules build later with the default ARCH (x86) just the same.
	export ARCH=x86_64
	make -C "$SRC" O="$B" tinyconfig >>"$LOG" 2>&1
	# merge_config.sh runs make in its working directory, so run it from the source tree.
	(cd "$SRC" && scripts/kconfig/merge_config.sh -O "$B" "$B/.config" "${FRAGMENT_FILES[@]}") >>"$LOG" 2>&1
	bad=$(check_config "$B/.config" "${FRAGMENT_FILES[@]}")
	if [[ -n $bad ]]; then
		{
			echo "these options of ${FRAGMENTS[*]/%/.config} did not end up in $B/.config:"
			echo "$bad"
			echo "(their dependencies are missing; see 'depends on' in the Kconfig files under $SRC)"
		} >>"$LOG"
		trap - EXIT
		log "error: these options of ${FRAGMENTS[*]/%/.config} did not end up in the .config:"
		printf '%s\n' "$bad" >&2
		log "(their dependencies are missing; see 'depends on' in the Kconfig files, log: $LOG)"
		exit 1
	fi
	cp "$B/.config" "$DIR/config"

	# LOCALVERSION= (set, empty): no "+" suffix; CONFIG_LOCALVERSION names the kernel.
	make -C "$SRC" O="$B" LOCALVERSION= -j"$JOBS" bzImage modules >>"$LOG" 2>&1
	[[ -f $B/Module.symvers ]] || die "no Module.symvers in $B"
	release=$(cat "$B/include/config/kernel.release")
	cp "$B/arch/x86/boot/bzImage" "$DIR/vmlinuz"
	echo "$release" >"$DIR/kernelrelease"
	unset ARCH
	smoke_module "$B" "$release" || die "an out-of-tree module does not build against $B"

	sync -f "$DIR/vmlinuz"
	{
		echo "release=$release"
		echo "source=$(dpkg-query -W -f='${Version}' "$SRC_PKG")"
		echo "fragments=${FRAGMENTS[*]}"
		echo "seconds=$((SECONDS - start))"
	} >"$DIR/.complete.tmp"
	mv "$DIR/.complete.tmp" "$DIR/.complete"
	log "built $release in $((SECONDS - start)) s"
	prune
	echo "$DIR"
}

main "$@"
exit
