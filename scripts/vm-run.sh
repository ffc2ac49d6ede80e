#!/bin/bash
# Build the events modules for one kernel, boot them in a QEMU VM with a busybox initramfs, report.
#
# Usage: scripts/vm-run.sh KVER check|demo|shell|bench|tools
#   check  run the selftests in the guest (selftests/run_guest.sh)
#   tools  the host's root filesystem as the guest's (virtio-9p, read-only, under a tmpfs
#          overlay): rsyslogd, events.ko loaded, then userspace/tests/run_tools_guest.sh
#          (or scripts/guest/tools-smoke.sh) with the tools built by `make -C userspace`
#   demo   run the scripted demo (scripts/guest/demo.sh)
#   bench  events_bench against pipes, AF_UNIX and /dev/kmsg (BENCH_ARGS: its options)
#   shell  the demo, then an interactive shell in the guest (needs a terminal;
#          Ctrl-A X quits QEMU); with VM_DEMO=0 just events.ko loaded, then the shell
# Every result is counted: the guest's tests, plus "kernel log clean" (no
# BUG/WARNING/Oops/lockdep/KASAN/... lines in the guest's dmesg). Prints
# "KVER: X passed, Y failed", writes "X Y" to build/KVER/result, exits 1 on any failure.
#
# Environment:
#   VM_TIMEOUT     hard limit for the boot in seconds (default: check 900, tools 600,
#                  demo 300, shell and bench 3600)
#   VM_MACHINE     QEMU machine (default pc; microvm boots ~0.5 s faster on an idle host,
#                  but has no HPET/PM timer: on a busy host the kernel's TSC calibration
#                  against the PIT fails and the boot hangs)
#   VM_KERNEL      kernel image (default /boot/vmlinuz-KVER)
#   VM_KDIR        kernel build tree for the modules (default /lib/modules/KVER/build)
#   VM_APPEND      more kernel command line (e.g. kasan_multi_shot, evstress=SECS)
#   VM_ACCEL       kvm or tcg (default: probed once, cached in build/accel)
#   EVENTS_SRC     tree to take Kbuild, kmod/, include/ and selftests/*.sh from (default: this repo)
#   SELFTESTS_OUT  selftest binaries (default: build/selftests, from
#                  `make -C selftests OUTPUT=$PWD/build/selftests`)
#   TOOLS_OUT      tools mode: where `make -C userspace OUTPUT=... all` builds the tools and
#                  libevents.so (default: build/tools); TOOLS_BUILD=0 skips that build
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$ROOT/scripts/lib.sh"

usage() {
	echo "usage: $0 KVER check|demo|shell|bench|tools" >&2
	exit 2
}
[ $# -eq 2 ] || usage
KVER=$1
MODE=$2
case $MODE in
check) timeout_default=900 ;;
tools) timeout_default=600 ;;
demo) timeout_default=300 ;;
bench) timeout_default=3600 ;;
shell)
	timeout_default=3600
	if [ ! -t 0 ] || [ ! -t 1 ]; then
		echo "vm-run: shell mode needs a terminal; use demo" >&2
		exit 2
	fi
	;;
*) usage ;;
esac
VM_TIMEOUT=${VM_TIMEOUT:-$timeout_default}
MACHINE=${VM_MACHINE:-pc}
SRC=${EVENTS_SRC:-$ROOT}
ST_OUT=${SELFTESTS_OUT:-$ROOT/build/selftests}
KIMG=${VM_KERNEL:-/boot/vmlinuz-$KVER}
KDIR=${VM_KDIR:-/lib/modules/$KVER/build}
TOOLS_OUT=${TOOLS_OUT:-$ROOT/build/tools}
B=$ROOT/build/$KVER

# Log lines in the guest's dmesg that fail "kernel log clean", and known harmless
# lines that match them (extended regexps).
BAD_LOG='BUG:|WARNING:|Oops|INFO: possible|circular locking|lockdep|KASAN|UBSAN|kmemleak|sleeping function called|general protection|Call Trace|RIP:'
OK_LOG='kmemleak: Kernel memory leak detector initialized|kmemleak: Automatic memory scanning thread started|RCU lockdep checking is enabled'

for f in "$KIMG" "$KDIR/Makefile"; do
	if [ ! -e "$f" ]; then
		echo "vm-run: $f missing (kernel $KVER not installed? see scripts/kernels.sh)" >&2
		exit 2
	fi
done

mkdir -p "$B"
echo "0 1" >"$B/result"	# until a verdict exists, the run counts as one failure
t_start=$SECONDS

# finish PASS FAIL: print and record the verdict, exit.
finish() {
	echo "$KVER: $1 passed, $2 failed"
	echo "$1 $2" >"$B/result"
	[ "$2" -eq 0 ]
	exit
}

# --- modules -------------------------------------------------------------
echo "== $KVER: building modules in build/$KVER/src"
ev_copy_src "$SRC" "$B/src"
if ! ev_build "$KDIR" "$B/src" "$B/build.log"; then
	echo "not ok - module build for $KVER (log: build/$KVER/build.log)"
	finish 0 1
fi
mapfile -t modules < <(find "$B/src" -name '*.ko' | sort)
if [ ${#modules[@]} -eq 0 ]; then
	echo "not ok - module build for $KVER produced no .ko"
	finish 0 1
fi

# --- tools (tools mode) ---------------------------------------------------
# Built on the host; the guest sees them, and the whole repo, through the 9p root.
if [ "$MODE" = tools ]; then
	case $SRC$TOOLS_OUT in
	*"'"* | *[[:space:]]*)
		echo "vm-run: tools mode needs paths without quotes or blanks: $SRC $TOOLS_OUT" >&2
		exit 2 ;;
	esac
	# The repo is shared with the guest at its own path (9p tag "repo"), so it may
	# be anywhere, /tmp included; tools built outside it are seen through the
	# host's root, where the guest has fresh tmpfs on /tmp, /run, /var/tmp, /var/log.
	case $TOOLS_OUT/ in
	"$SRC"/*) ;;
	/tmp/* | /run/* | /var/tmp/* | /var/log/*)
		echo "vm-run: tools mode: the guest cannot see $TOOLS_OUT (tmpfs there)" >&2
		exit 2 ;;
	esac
	if [ "${TOOLS_BUILD:-1}" = 0 ]; then
		echo "== tools: not built (TOOLS_BUILD=0), using $TOOLS_OUT"
	else
		echo "== tools: make -C userspace OUTPUT=$TOOLS_OUT all"
		mkdir -p "$TOOLS_OUT"
		if ! make -C "$SRC/userspace" OUTPUT="$TOOLS_OUT" all >"$B/tools-build.log" 2>&1; then
			sed 's/^/  /' "$B/tools-build.log"
			echo "not ok - userspace build (log: build/$KVER/tools-build.log)"
			finish 0 1
		fi
	fi
fi

# --- initramfs -----------------------------------------------------------
BUSYBOX=$(command -v busybox || true)
if [ -z "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
	echo "vm-run: need a static busybox (apt-get install busybox-static)" >&2
	exit 2
fi
R=$B/initramfs
rm -rf "$R"
mkdir -p "$R"/{bin,dev,etc,proc,root,run,sys,tmp,usr,lib/events,selftests,"lib/modules/$KVER/extra"}
ln -s bin "$R/sbin"
ln -s ../bin "$R/usr/bin"
ln -s ../bin "$R/usr/sbin"
chmod 1777 "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
for applet in $("$BUSYBOX" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$R/bin/$applet"
done
install -m 0755 "$ROOT/scripts/guest/init" "$R/init"
install -m 0755 "$ROOT/scripts/guest/demo.sh" "$R/demo.sh"
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
	'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$R/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' 'nobody:x:65534:' >"$R/etc/group"
printf '%s\n' "PS1='events-vm:\\w# '" >"$R/etc/profile"
# Modules: /lib/events/*.ko, and for modprobe also under /lib/modules/KVER/extra.
for m in "${modules[@]}"; do
	cp "$m" "$R/lib/events/"
	ln "$R/lib/events/${m##*/}" "$R/lib/modules/$KVER/extra/"
done
for f in modules.builtin modules.builtin.modinfo; do
	if [ -f "/lib/modules/$KVER/$f" ]; then
		cp "/lib/modules/$KVER/$f" "$R/lib/modules/$KVER/"
	else
		: >"$R/lib/modules/$KVER/$f"
	fi
done
(cd "$R/lib/modules/$KVER" && find extra -name '*.ko' | sort >modules.order)
depmod -b "$R" "$KVER"
# Selftests: the binaries of SELFTESTS_OUT plus selftests/*.sh (run_guest.sh is the driver).
if [ -d "$ST_OUT" ]; then
	find "$ST_OUT" -maxdepth 1 -type f ! -name '*.o' ! -name '*.d' -exec cp -p {} "$R/selftests/" \;
elif [ "$MODE" != tools ]; then
	echo "# no selftest binaries in $ST_OUT (make -C selftests OUTPUT=$ST_OUT)"
fi
for f in "$SRC"/selftests/*.sh; do
	[ -f "$f" ] && install -m 0755 "$f" "$R/selftests/"
done
[ "$MODE" != check ] || [ -e "$R/selftests/run_guest.sh" ] ||
	echo "# selftests/run_guest.sh missing: the check will fail"
# Tools mode: the stage-2 scripts, their environment and, uncompressed for busybox's
# insmod, the modules that mount the host's root (9p over virtio, overlayfs) in load order.
if [ "$MODE" = tools ]; then
	install -m 0755 "$ROOT/scripts/guest/tools.sh" "$ROOT/scripts/guest/tools-smoke.sh" "$R/"
	printf "%s='%s'\n" EVENTS_REPO "$SRC" EVENTS_TOOLS "$TOOLS_OUT" EVENTS_LIB "$TOOLS_OUT" \
		EVENTS_MODDIR /run/events >"$R/tools.env"
	mkdir -p "$R/lib/tools-modules"
	for m in virtio_pci 9p 9pnet_virtio overlay; do
		modprobe -S "$KVER" --show-depends "$m" ||
			echo "# modprobe: no module $m for $KVER" >&2
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r path; do
		name=${path##*/}
		name=${name%.xz}
		name=${name%.zst}
		name=${name%.gz}
		case $path in
		*.xz) xz -dc "$path" ;;
		*.zst) zstd -dc "$path" ;;
		*.gz) gzip -dc "$path" ;;
		*) cat "$path" ;;
		esac >"$R/lib/tools-modules/$name"
		echo "$name" >>"$R/lib/tools-modules/order"
	done
	touch "$R/lib/tools-modules/order"
fi
INITRD=$B/initramfs.cpio.gz
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -1 >"$INITRD"
echo "== $KVER: initramfs $(du -k "$INITRD" | cut -f1) KiB, modules: ${modules[*]##*/}"

# --- accelerator ---------------------------------------------------------
# KVM only where a short probe boot really works (on some hosts it aborts or spins).
probe_accel() {
	local cache=$ROOT/build/accel
	if [ -s "$cache" ]; then
		cat "$cache"
		return
	fi
	local accel=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		timeout --foreground -k 5 30 qemu-system-x86_64 -M "$MACHINE" -accel kvm -cpu max \
			-smp 2 -m 256 -nodefaults -display none -serial stdio -no-reboot \
			-kernel "$KIMG" -initrd "$INITRD" \
			-append "console=ttyS0 panic=-1 quiet evmode=probe" \
			</dev/null >"$ROOT/build/accel.log" 2>&1 || true
		grep -q EVENTS-PROBE-OK "$ROOT/build/accel.log" && accel=kvm
	fi
	echo "$accel" >"$cache"
	echo "$accel"
}
ACCEL=${VM_ACCEL:-$(probe_accel)}

# --- boot ----------------------------------------------------------------
guest_timeout=$((VM_TIMEOUT > 120 ? VM_TIMEOUT - 30 : VM_TIMEOUT / 2))
append="console=ttyS0 panic=-1 quiet printk.devkmsg=on evmode=$MODE evtimeout=$guest_timeout"
[ "${VM_DEMO:-1}" != 0 ] || append="$append evdemo=0"
[ -z "${VM_APPEND:-}" ] || append="$append $VM_APPEND"
# The benchmark compares with /dev/kmsg: no rate limit, a larger buffer.
[ "$MODE" != bench ] || append="$append log_buf_len=4M evbench=$(echo "${BENCH_ARGS:-}" | tr ' ' ,)"
# Under TCG the 6.1 kernel finds the vCPU TSCs unsynchronized and falls back to HPET
# (on microvm: jiffies, without high-resolution timers). QEMU's TSC is one host
# clock, so trust it; this also keeps the clocksource watchdog quiet on a busy host.
[ "$ACCEL" = kvm ] || append="$append tsc=reliable"
qemu=(qemu-system-x86_64 -M "$MACHINE" -accel "$ACCEL" -cpu max -smp 2 -m 1024
	-nodefaults -display none -no-reboot -kernel "$KIMG" -initrd "$INITRD" -append "$append")
# The host's root for the tools mode: read-only, like virtme; remap keeps inode numbers
# unique across the host's submounts.
# shellcheck disable=SC2054 # QEMU's option values are comma lists
[ "$MODE" != tools ] || qemu+=(
	-fsdev local,id=hostroot,path=/,readonly=on,security_model=none,multidevs=remap
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=repo,path=$SRC,readonly=on,security_model=none,multidevs=remap"
	-device virtio-9p-pci,fsdev=repo,mount_tag=repo)
if [ "$MODE" = shell ]; then
	qemu+=(-serial mon:stdio)
	stdin=/dev/stdin
else
	qemu+=(-serial stdio)
	stdin=/dev/null
fi

echo "== $KVER: booting ($MACHINE, $ACCEL, $MODE, timeout $VM_TIMEOUT s)"
t_boot=$SECONDS
set +e
timeout --foreground -k 10 "$VM_TIMEOUT" "${qemu[@]}" <"$stdin" 2>&1 | tee "$B/console.log"
qemu_rc=${PIPESTATUS[0]}
set -e
t_end=$SECONDS

# --- verdict -------------------------------------------------------------
tr -d '\r' <"$B/console.log" >"$B/console.txt"
C=$B/console.txt
pass=0
fail=0
echo "== $KVER: VM ran $((t_end - t_boot)) s (build + boot + run $((t_end - t_start)) s)"

guest=$(grep -ao 'EVENTS-GUEST: pass=[0-9]* fail=[0-9]*' "$C" | tail -n 1 || true)
if [ -n "$guest" ]; then
	pass=${guest#*pass=}
	pass=${pass%% *}
	fail=${guest##*fail=}
else
	echo "not ok - guest verdict (no EVENTS-GUEST line)"
	fail=$((fail + 1))
fi
if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
	echo "not ok - VM finished in time (killed after $VM_TIMEOUT s)"
	fail=$((fail + 1))
elif [ "$qemu_rc" -ne 0 ]; then
	echo "not ok - QEMU exited $qemu_rc"
	fail=$((fail + 1))
fi
if grep -aq 'Kernel panic' "$C"; then
	echo "not ok - no kernel panic"
	grep -a 'Kernel panic' "$C" | sed 's/^/#   /'
	fail=$((fail + 1))
fi

awk '/EVENTS-DMESG-END/ { f = 0 } f { print } /EVENTS-DMESG-BEGIN/ { f = 1 }' "$C" >"$B/dmesg.txt"
scope="dmesg"
if ! grep -aq EVENTS-DMESG-END "$C"; then
	# No complete dmesg section (panic, hang): judge the whole console instead.
	scope="console (no complete dmesg section)"
	cp "$C" "$B/dmesg.txt"
fi
if grep -aE "$BAD_LOG" "$B/dmesg.txt" | grep -avE "$OK_LOG" >"$B/dmesg.bad"; then
	echo "not ok - kernel log clean ($scope: build/$KVER/dmesg.txt)"
	sed 's/^/#   /' "$B/dmesg.bad"
	fail=$((fail + 1))
else
	echo "ok - kernel log clean ($scope)"
	pass=$((pass + 1))
fi

finish "$pass" "$fail"
