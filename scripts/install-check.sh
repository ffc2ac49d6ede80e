#!/bin/bash
# Check `make install` into a scratch DESTDIR: the module for a kernel, the udev rule,
# the modules-load.d file and userspace/'s files.
#
# Usage: scripts/install-check.sh [NAME]     (NAME as for scripts/kernels.sh; default 6.12)
# Runs in a copy of the tree (build/install/src), installs into build/install/root with
# PREFIX=/opt/events. Prints TAP, then "N passed, N failed"; writes "N N" to
# build/install.result; exits 1 on any failure.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$ROOT/build/install
D=$W/root
PREFIX=/opt/events
mkdir -p "$ROOT/build"
echo "0 1" >"$ROOT/build/install.result"

# shellcheck source=SCRIPTDIR/lib.sh
. "$ROOT/scripts/lib.sh"
t() { ev_t "$@"; }
finish() { ev_finish install; }

if ! KVER=$("$ROOT/scripts/kernels.sh" "${1:-6.12}"); then
	t "a kernel with headers for ${1:-6.12}" false
	finish
fi
KDIR=/lib/modules/$KVER/build

rm -rf "$W"
mkdir -p "$W/src" "$D"
(cd "$ROOT" && tar -cf - --exclude=./build --exclude=./.git --exclude='*.o' --exclude='*.ko' \
	--exclude='.*.cmd' --exclude='*.mod' --exclude='*.mod.c' .) | tar -xf - -C "$W/src"

echo "== make install DESTDIR=build/install/root PREFIX=$PREFIX KDIR=$KDIR"
# shellcheck disable=SC2317 # called through t
do_install() {
	make -C "$W/src" install DESTDIR="$D" PREFIX="$PREFIX" KDIR="$KDIR" >"$W/install.log" 2>&1 ||
		{ tail -n 40 "$W/install.log" | sed 's/^/#   /'; return 1; }
}
t "make install (log: build/install/install.log)" do_install

mod=$(find "$D/lib/modules/$KVER/updates" -name 'events.ko*' 2>/dev/null | head -n 1)
t "events.ko under lib/modules/$KVER/updates (${mod#"$D"/})" test -n "$mod"
[ -z "$mod" ] ||
	t "its vermagic is $KVER" test "$(modinfo -F vermagic "$mod" | cut -d' ' -f1)" = "$KVER"
t "the test module is not installed" \
	test -z "$(find "$D/lib/modules" -name 'events_api_test.ko*')"
rules=$(find "$D" -path '*/udev/rules.d/60-events.rules')
t "udev rule ${rules#"$D"}" cmp -s "$rules" "$ROOT/packaging/udev/60-events.rules"
t "modules-load.d/events.conf" \
	cmp -s "$D/etc/modules-load.d/events.conf" "$ROOT/packaging/modules-load.d/events.conf"

# userspace/'s files, where its Makefile puts them under PREFIX.
for f in bin/evctl bin/evwatch sbin/eventsd lib/libevents.so.0 lib/libevents.a \
	lib/pkgconfig/libevents.pc include/libevents.h include/linux/events.h \
	share/man/man1/evctl.1 share/man/man3/libevents.3 share/man/man4/events.4 \
	share/man/man8/eventsd.8 lib/systemd/system/eventsd.service; do
	t "userspace: $PREFIX/$f" test -e "$D$PREFIX/$f"
done
t "userspace: /etc/eventsd.conf" test -f "$D/etc/eventsd.conf"
t "libevents.pc has prefix=$PREFIX" grep -qx "prefix=$PREFIX" "$D$PREFIX/lib/pkgconfig/libevents.pc"
echo "# installed:"
(cd "$D" && find . -type f | sort | sed 's/^/#   /')
finish
