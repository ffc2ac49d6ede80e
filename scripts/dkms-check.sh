#!/bin/bash
# Check the DKMS packaging with Debian's dkms: add the tree as events/VERSION, build and
# install it for each kernel, check the result, remove it all again. Needs root.
#
# Usage: scripts/dkms-check.sh [NAME...]    (NAME as for scripts/kernels.sh; default 6.1 6.12)
# Prints TAP, then "N passed, N failed"; writes "N N" to build/dkms.result; exits 1 on any
# failure. Leaves no events module registered with dkms and no /usr/src/events-*, even
# after a failed or interrupted earlier run. The trees it adds carry a marker file; when
# dkms knows an events it did not add (a real installation), it changes nothing and
# reports the check skipped ("0 0").
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$ROOT/build"
echo "0 1" >"$ROOT/build/dkms.result"
[ $# -gt 0 ] || set -- 6.1 6.12

# shellcheck source=SCRIPTDIR/lib.sh
. "$ROOT/scripts/lib.sh"
t() { ev_t "$@"; }
finish() { ev_finish dkms; }

if ! command -v dkms >/dev/null; then
	t "dkms installed (scripts/setup.sh)" false
	finish
fi

MARK=.events-dkms-check

# known_versions: the versions of events that dkms has, added or just in /usr/src.
known_versions() {
	{
		dkms status events 2>/dev/null | sed -n 's|^events/\([^,:]*\)[,:].*|\1|p'
		for d in /var/lib/dkms/events/* /usr/src/events-*; do
			[ -d "$d" ] && [ ! -L "$d" ] && echo "${d##*/events[-/]}"
		done
	} | sort -u
}

# foreign: print the versions that this script did not add (no marker in their source).
foreign() {
	local v
	for v in $(known_versions); do
		[ -e "/usr/src/events-$v/$MARK" ] || echo "$v"
	done
}

# cleanup: unregister this script's versions of events and remove their sources; quiet,
# idempotent.
cleanup() {
	local v
	for v in $(known_versions); do
		[ -e "/usr/src/events-$v/$MARK" ] || continue
		dkms remove "events/$v" --all >/dev/null 2>&1 || true
		rm -rf "/var/lib/dkms/events/$v" "/usr/src/events-$v"
	done
	rmdir /var/lib/dkms/events 2>/dev/null || true
}

VERSION=$(sed -n 's/^VERSION := //p' "$ROOT/Makefile")
conf_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$ROOT/dkms.conf")
t "dkms.conf's PACKAGE_VERSION ($conf_version) is the Makefile's VERSION ($VERSION)" \
	test -n "$VERSION" -a "$conf_version" = "$VERSION"
VERSION=${conf_version:-$VERSION}
[ -n "$VERSION" ] || finish

cleanup
others=$(foreign | paste -sd ' ' -)
if [ -n "$others" ]; then
	echo "# SKIP: dkms has events $others, installed on this machine by hand or a package:"
	echo "# not touching it (dkms remove events/VERSION --all would allow this check)"
	echo "dkms: skipped"
	echo "0 0" >"$ROOT/build/dkms.result"
	exit 0
fi
trap 'cleanup >/dev/null 2>&1' EXIT
S=/usr/src/events-$VERSION
mkdir -p "$S"
: >"$S/$MARK"
(cd "$ROOT" && tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude=modules.order --exclude=Module.symvers \
	dkms.conf Makefile Kbuild kmod include) | tar -xf - -C "$S"

# quietly LOG CMD...: run CMD, output to LOG; on failure show the log's end.
# shellcheck disable=SC2317 # called through t
quietly() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 || { tail -n 30 "$log" | sed 's/^/#   /'; return 1; }
}
L=$ROOT/build/dkms
mkdir -p "$L"
t "dkms add events/$VERSION" quietly "$L/add.log" dkms add "events/$VERSION"

for name in "$@"; do
	if ! k=$("$ROOT/scripts/kernels.sh" "$name"); then
		t "a kernel with headers for $name" false
		continue
	fi
	echo "== $name ($k)"
	t "dkms build -k $k" quietly "$L/build-$k.log" dkms build "events/$VERSION" -k "$k"
	t "dkms install -k $k" quietly "$L/install-$k.log" dkms install "events/$VERSION" -k "$k"
	ko=$(find "/lib/modules/$k/updates/dkms" -name 'events.ko*' 2>/dev/null | head -n 1)
	t "events.ko in /lib/modules/$k/updates/dkms (${ko##*/})" test -n "$ko"
	[ -z "$ko" ] ||
		t "its vermagic is $k" test "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$k"
	t "modinfo -k $k events finds it" \
		test "$(modinfo -k "$k" -F filename events 2>/dev/null)" = "$ko"
	t "dkms status: installed for $k" \
		sh -c "dkms status 'events/$VERSION' -k '$k' 2>/dev/null | grep -q ': installed'"
done

t "dkms remove events/$VERSION --all" quietly "$L/remove.log" dkms remove "events/$VERSION" --all
for name in "$@"; do
	k=$("$ROOT/scripts/kernels.sh" "$name" 2>/dev/null) || continue
	t "no events.ko left for $k" \
		test -z "$(find "/lib/modules/$k/updates/dkms" -name 'events.ko*' 2>/dev/null)"
done
cleanup
t "dkms knows no events module any more" test -z "$(dkms status events 2>/dev/null)"
finish
