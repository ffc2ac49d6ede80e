#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run_guest.sh - in-guest driver for the events selftests
#
# Runs as root inside the test VM (busybox sh), with the selftest binaries
# next to this script and the modules in $EVENTS_MODDIR (default
# /lib/events). It loads the module, runs the kselftest programs, checks
# real clients (cat, head, grep, dd), unloading, bad module parameters and
# the in-kernel API, and ends with exactly one line
#
#   EVENTS-GUEST: pass=X fail=Y
#
# Each harness test case counts as one result, each shell check as one.
# A skipped harness test counts as a failure: this script has loaded the
# module, so nothing may skip. No client can hang the run: each one runs
# under timeout(1) or in the background and is killed.

DIR=$(cd "$(dirname "$0")" && pwd)
MODDIR=${EVENTS_MODDIR:-/lib/events}
DEV=/dev/events
PARAMS=/sys/module/events/parameters
BAD_LOG='BUG:|WARNING:|Oops|INFO: possible|circular locking|KASAN|UBSAN|sleeping function called|general protection|Call Trace|RIP:'
T=$(mktemp -d /tmp/events.XXXXXX) || T=/tmp/events.$$
mkdir -p "$T"
n=0
pass=0
fail=0
bg_pids=

ok() {
	n=$((n + 1))
	pass=$((pass + 1))
	echo "ok $n - $*"
}

not_ok() {
	n=$((n + 1))
	fail=$((fail + 1))
	echo "not ok $n - $*"
}

diag() {
	echo "# $*"
}

# check NAME CMD...: one result from the exit status of CMD
check() {
	name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		not_ok "$name"
	fi
}

# Indent a file as TAP diagnostics.
show() {
	[ -s "$1" ] && sed 's/^/#   /' "$1"
}

loaded() {
	[ -d /sys/module/events ]
}

# load [PARAM=VALUE...]: insmod events.ko and wait for the device node.
load() {
	insmod "$MODDIR/events.ko" "$@" 2>"$T/insmod.err" || {
		show "$T/insmod.err"
		return 1
	}
	i=0
	while [ ! -c "$DEV" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -c "$DEV" ]
}

unload() {
	! loaded || rmmod events
}

# reload [PARAM=VALUE...]: a fresh module instance.
reload() {
	unload && load "$@"
}

# snapshot FILE [SECS]: what a new reader gets (cat follows, so kill it).
# The subshell (kept from exec'ing cat by the ":") takes the shell's
# "Terminated" notice, which would otherwise land in the TAP output.
snapshot() {
	(timeout "${2:-3}" cat "$DEV" >"$1"; :) 2>/dev/null
}

param() {
	cat "$PARAMS/$1" 2>/dev/null
}

kill_bg() {
	for p in $bg_pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	bg_pids=
}

# run_ksft LABEL TIMEOUT PROGRAM [ARGS...]: run a kselftest program; one
# result per test case, cross-checked against its "# Totals:" line.
run_ksft() {
	label=$1
	tmo=$2
	shift 2
	out=$T/ksft.out
	timeout "$tmo" "$@" >"$out" 2>&1
	rc=$?
	lp=0
	lf=0
	totals=
	while IFS= read -r line; do
		case $line in
		"ok "* | "not ok "*)
			case $line in
			"ok "*) res=ok rest=${line#ok } ;;
			*) res=not_ok rest=${line#not ok } ;;
			esac
			name=${rest#* }
			case $name in
			*"# SKIP"* | *"# error"* | *"# XPASS"*) res=not_ok ;;
			esac
			if [ $res = ok ]; then
				lp=$((lp + 1))
				ok "$label: $name"
			else
				lf=$((lf + 1))
				not_ok "$label: $name"
			fi
			;;
		"# Totals: "*)
			totals=$line
			echo "$line"
			;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <"$out"
	if [ -z "$totals" ]; then
		not_ok "$label: ran to the end (no Totals line, exit status $rc)"
		return
	fi
	# "# Totals: pass:P fail:F xfail:XF xpass:XP skip:S error:E"
	# shellcheck disable=SC2046 # split into the six numbers on purpose
	set -- $(echo "$totals" | sed 's/[^0-9 ]//g')
	tpass=$(($1 + $3))
	tfail=$(($2 + $4 + $5 + $6))
	if [ "$tpass" != "$lp" ] || [ "$tfail" != "$lf" ]; then
		not_ok "$label: results agree with Totals ($lp/$lf vs $tpass/$tfail)"
	elif [ "$rc" != 0 ] && [ "$lf" = 0 ]; then
		not_ok "$label: exit status $rc with no failed test"
	fi
}

# Lines that dmesg printed after line number $1.
dmesg_since() {
	dmesg | tail -n +$(($1 + 1))
}

# Any oops, warning or lockdep splat in the kernel log after line $1?
log_clean_since() {
	! dmesg_since "$1" | grep -E "$BAD_LOG" >"$T/bad.log" || {
		show "$T/bad.log"
		return 1
	}
}

# An event line of the text format (the origin given as $1).
RECORD_RE='^[1-9][0-9]*,[0-9]+\.[0-9]{9},'

echo "# events selftests on $(uname -r), modules from $MODDIR"
log0=$(dmesg | wc -l)

# --- load ----------------------------------------------------------------
for m in events.ko events_api_test.ko; do
	check "module $m is present" test -f "$MODDIR/$m"
done
unload 2>/dev/null
check "insmod events.ko with default parameters" load
if ! loaded; then
	not_ok "module loaded; nothing else can run"
	echo "EVENTS-GUEST: pass=$pass fail=$fail"
	exit 1
fi

check "/dev/events is a root-owned character device, mode 0600" \
	test "$(stat -c '%F %a %u %g' "$DEV")" = "character special file 600 0 0"
check "default ring_size is 1048576" test "$(param ring_size)" = 1048576
check "default max_payload is 4096" test "$(param max_payload)" = 4096
mode=$(param mode)
check "default mode parameter is 0600 (read '$mode')" \
	test "$mode" = 384 -o "$mode" = 0600 -o "$mode" = 600
check "module parameters are read-only (0444)" \
	test "$(stat -c %a "$PARAMS/ring_size" "$PARAMS/max_payload" "$PARAMS/mode" | sort -u)" = 444

# --- the harness suite ---------------------------------------------------
run_ksft events_test 1500 "$DIR/events_test"

# --- ioctls and binary records -------------------------------------------
# events_ioctl_test loads events_api_test.ko from here for kernel records.
export EVENTS_MODDIR="$MODDIR"
run_ksft events_ioctl_test 1500 "$DIR/events_ioctl_test"
check "the ioctl tests left ring_size at 1048576" test "$(param ring_size)" = 1048576

# The same tests as a 32-bit program: every ioctl through compat_ioctl
# (the race is left to the 64-bit run). Debian's kernels have IA32
# emulation; the tinyconfig-based debug kernels may not.
m32=$DIR/events_ioctl_test32
if [ ! -f "$m32" ]; then
	not_ok "events_ioctl_test32 is built (gcc-multilib missing on the host?)"
elif [ ! -e /proc/sys/abi/vsyscall32 ]; then
	# No IA32 emulation (CONFIG_IA32_EMULATION registers abi.vsyscall32):
	# fine for the self-built debug kernels, a failure for Debian's.
	case $(uname -r) in
	*-amd64)
		not_ok "events_ioctl_test32: $(uname -r) has IA32 emulation" ;;
	*)
		ok "events_ioctl_test32 not run: $(uname -r) has no IA32 emulation" ;;
	esac
else
	# -l lists the tests and exits with KSFT_SKIP (4).
	"$m32" -l >"$T/m32.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] || [ $rc -eq 4 ]; then
		run_ksft events_ioctl_test32 1500 "$m32" -T clear_resize_race
	else
		show "$T/m32.out"
		not_ok "events_ioctl_test32 starts (status $rc)"
	fi
fi

# --- overflow under several ring sizes -----------------------------------
# The overflow tests under several capacities: the smallest ring (which
# needs a smaller max_payload to hold one event), the smallest that holds
# a default-size event, a middle size and the default again (now on a
# fresh, empty ring).
for conf in "ring_size=4096 max_payload=1024" ring_size=8192 \
	ring_size=65536 ""; do
	# shellcheck disable=SC2086 # conf is a list of parameters
	check "reload with ${conf:-the default parameters}" reload $conf
	want=${conf%% *}
	want=${want#ring_size=}
	want=${want:-1048576}
	check "ring_size parameter reads $want" test "$(param ring_size)" = "$want"
	# The stress test too: with a small ring its readers do lose events.
	run_ksft "events_test -f overflow (${conf:-defaults})" 900 \
		"$DIR/events_test" -f overflow -t stress_writers_readers
	# Filters while the ring overflows: skipped records neither wake
	# readers nor count as lost, matching ones are counted exactly.
	run_ksft "events_ioctl_test -f ovf (${conf:-defaults})" 900 \
		"$DIR/events_ioctl_test" -f ovf
done

# --- reload starts fresh -------------------------------------------------
printf 'before reload\n' >"$DEV"
check "reload (rmmod + insmod)" reload
snapshot "$T/empty.out"
check "after reload the history is empty" test ! -s "$T/empty.out"
printf 'first after reload\n' >"$DEV"
snapshot "$T/first.out"
show "$T/first.out"
check "after reload the first event has seq 1" \
	grep -qE '^1,[0-9]+\.[0-9]{9},u,[0-9]+,0,[^;]*;first after reload$' "$T/first.out"
check "after reload the history holds only that event" \
	test "$(wc -l <"$T/first.out")" -eq 1

# --- real clients --------------------------------------------------------
for i in 1 2 3; do
	printf 'sh client %s %s\n' $$ $i >"$DEV"
done
printf 'esc\tape\\ me\n\n' >"$DEV"
snapshot "$T/cat.out"
show "$T/cat.out"
check "cat /dev/events shows the history (5 lines then killed)" \
	test "$(wc -l <"$T/cat.out")" -eq 5
check "cat: every line has the record format" \
	test "$(grep -cE "${RECORD_RE}u,[0-9]+,0,[^;,]+(,[^;]*)?;" "$T/cat.out")" -eq 5
check "cat: the shell's events in order" \
	test "$(grep -o "sh client $$ [123]" "$T/cat.out" | tr '\n' ' ')" = \
	"sh client $$ 1 sh client $$ 2 sh client $$ 3 "
check "printf with a tab, a backslash and two newlines is escaped" \
	grep -q ';esc\\x09ape\\x5c me\\x0a$' "$T/cat.out"

cat "$DEV" >"$T/follow.out" 2>&1 &
cat_pid=$!
bg_pids="$bg_pids $cat_pid"
sleep 1
printf 'live for cat %s\n' $$ >"$DEV"
i=0
while ! grep -q "live for cat $$" "$T/follow.out" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "a backgrounded cat sees a live event" grep -q ";live for cat $$\$" "$T/follow.out"
check "cat follows: history first, then the live event" \
	test "$(tail -n 1 "$T/follow.out" | sed 's/.*;//')" = "live for cat $$" -a \
	"$(wc -l <"$T/follow.out")" -eq 6
kill_bg

timeout 10 head -n 2 "$DEV" >"$T/head.out"
rc=$?
check "head -n 2 /dev/events prints 2 lines and exits (status $rc)" \
	test $rc -eq 0 -a "$(wc -l <"$T/head.out")" -eq 2
head -n 2 "$T/follow.out" >"$T/head2.out"
check "head: the 2 oldest lines" cmp -s "$T/head.out" "$T/head2.out"

timeout 30 grep -m1 "grep me $$" "$DEV" >"$T/grep.out" &
grep_pid=$!
sleep 1
printf 'grep me %s\n' $$ >"$DEV"
wait $grep_pid
rc=$?
check "grep -m1 finds a live event and exits (status $rc)" \
	test $rc -eq 0 -a "$(wc -l <"$T/grep.out")" -eq 1
check "grep: the line is the live event" grep -q ";grep me $$\$" "$T/grep.out"

snapshot "$T/all.out"
size=$(wc -c <"$T/all.out")
timeout 120 dd if="$DEV" of="$T/dd.out" bs=1 count="$size" 2>"$T/dd.err"
rc=$?
check "dd bs=1 reads $size bytes one at a time (status $rc)" test $rc -eq 0
check "dd bs=1 gives the same bytes as cat" cmp -s "$T/all.out" "$T/dd.out"
timeout 60 dd if="$DEV" of="$T/dd7.out" bs=7 count="$size" iflag=count_bytes 2>/dev/null
check "dd bs=7 gives the same bytes as cat" cmp -s "$T/all.out" "$T/dd7.out"

# --- rmmod while open ----------------------------------------------------
exec 3<"$DEV"
rmmod events 2>"$T/rmmod.err"
rc=$?
show "$T/rmmod.err"
check "rmmod is refused while a reader is open" test $rc -ne 0
check "the module is still loaded" loaded
(timeout 3 cat <&3 >"$T/fd3.out"; :) 2>/dev/null
check "the open reader still reads the history" test -s "$T/fd3.out"
exec 3<&-
exec 4>"$DEV"
rmmod events 2>/dev/null
check "rmmod is refused while a writer is open" loaded
exec 4>&-
check "rmmod succeeds once all files are closed" rmmod events
check "the device node is gone" test ! -e "$DEV"

# --- bad parameters ------------------------------------------------------
for p in ring_size=1000 ring_size=0 ring_size=3 ring_size=536870912 ring_size=4096 \
	max_payload=0 max_payload=65537 mode=01777 mode=01000; do
	before=$(dmesg | wc -l)
	insmod "$MODDIR/events.ko" $p 2>"$T/bad.err"
	rc=$?
	err=$(cat "$T/bad.err")
	if [ $rc -eq 0 ]; then
		not_ok "insmod $p is refused"
		rmmod events
		continue
	fi
	check "insmod $p is refused with EINVAL ($err)" \
		grep -qi 'invalid' "$T/bad.err"
	dmesg_since "$before" >"$T/bad.dmesg"
	show "$T/bad.dmesg"
	check "insmod $p: a pr_err line names the module" grep -q 'events' "$T/bad.dmesg"
	check "insmod $p: nothing else in the kernel log" log_clean_since "$before"
	check "insmod $p: nothing left loaded" test ! -d /sys/module/events -a ! -e "$DEV"
done

# --- good boundary parameters --------------------------------------------
check "load max_payload=1 mode=0640" load max_payload=1 mode=0640
check "mode=0640 applies to the device node" test "$(stat -c %a "$DEV")" = 640
printf 'x' >"$DEV" 2>/dev/null
check "max_payload=1: a 1-byte write succeeds" test $? -eq 0
printf 'y\n' >"$DEV" 2>/dev/null
check "max_payload=1: 1 byte plus a newline succeeds" test $? -eq 0
printf 'zz' >"$DEV" 2>/dev/null
check "max_payload=1: a 2-byte write fails" test $? -ne 0
snapshot "$T/mp1.out"
check "max_payload=1: exactly the two 1-byte events are logged" \
	test "$(sed 's/.*;//' "$T/mp1.out" | tr '\n' ' ')" = "x y "
check "rmmod" rmmod events
check "load ring_size=268435456 max_payload=65536 (the maxima)" \
	load ring_size=268435456 max_payload=65536
check "rmmod" rmmod events

# --- the in-kernel API ---------------------------------------------------
check "load for the API test" load
if [ -f "$MODDIR/events_api_test.ko" ]; then
	run_ksft events_api_check 600 "$DIR/events_api_check" -n 1000 -w 2 -- \
		insmod "$MODDIR/events_api_test.ko" count=1000
	check "rmmod events_api_test" rmmod events_api_test
else
	not_ok "events_api_test.ko missing"
fi
check "final rmmod events" rmmod events

# --- stress and fuzzing ---------------------------------------------------
# How hard: from the kernel command line (the runner asks for more on the
# debug kernels), with light defaults for the others.
stress_secs=15
stress_min=0
stress_burst=20000
stress_flood=0
fuzz_ops=20000
for arg in $(cat /proc/cmdline); do
	case $arg in
	evstress=*) stress_secs=${arg#evstress=} ;;
	evstress_min=*) stress_min=${arg#evstress_min=} ;;
	evstress_burst=*) stress_burst=${arg#evstress_burst=} ;;
	evstress_flood=*) stress_flood=${arg#evstress_flood=} ;;
	evfuzz=*) fuzz_ops=${arg#evfuzz=} ;;
	esac
done

# A small ring, so that readers really fall behind and lose events. Each
# load of the api test module also logs a burst of events back to back
# from a kernel thread: that is what drives the event count up, since
# user-space writers run a few thousand events/s under emulation. On the
# instrumented kernels, kernel bursts alone then bring the run to
# evstress_flood events (-F), still checked by every reader.
check "load ring_size=65536 for the stress test" load ring_size=65536
stress_limit=$((stress_secs * 3 + 120))
[ "$stress_flood" = 0 ] || stress_limit=$((stress_limit + 900))
timeout "$stress_limit" "$DIR/events_stress" -d "$stress_secs" \
	-e "$stress_min" -k "$MODDIR/events_api_test.ko" -B "$stress_burst" \
	-F "$stress_flood" >"$T/stress.out" 2>&1
rc=$?
show "$T/stress.out"
check "events_stress: ${stress_secs} s, at least $stress_min events, invariants hold (status $rc)" \
	test $rc -eq 0
check "rmmod after stress" rmmod events

check "load for the fuzzer" load
timeout 1200 "$DIR/events_fuzz" -n "$fuzz_ops" -d 900 >"$T/fuzz.out" 2>&1
rc=$?
show "$T/fuzz.out"
check "events_fuzz: $fuzz_ops operations, errno contract holds (status $rc)" \
	test $rc -eq 0
check "rmmod after fuzzing" rmmod events

# --- KUnit tests of the ring (kernels built with KUnit) --------------------
if [ -f "$MODDIR/events_ring_kunit.ko" ]; then
	insmod "$MODDIR/events_ring_kunit.ko"
	check "insmod events_ring_kunit" test $? -eq 0
	results=/sys/kernel/debug/kunit/events_ring/results
	if [ -r "$results" ]; then
		cp "$results" "$T/kunit.out"
	else
		dmesg | sed -n 's/^\[[^]]*\] //p' >"$T/kunit.out"
	fi
	# Every KUnit case counts as one result.
	while read -r line; do
		case $line in
		"ok "[0-9]*" events_ring_"*) ok "kunit: ${line#ok * }" ;;
		"not ok "[0-9]*" events_ring_"*)
			not_ok "kunit: ${line#not ok * }" ;;
		esac
	done <"$T/kunit.out"
	grep -q '^ *ok [0-9]* events_ring_' "$T/kunit.out" ||
		not_ok "kunit: no results from events_ring"
	rmmod events_ring_kunit
fi

kill_bg
check "no oops, warning or lockdep report in the kernel log" log_clean_since "$log0"

# --- debug kernels: leaks, and lockdep still watching ----------------------
if [ -w /sys/kernel/debug/kmemleak ]; then
	# Two scans: a new object is only reported once it survived one.
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$T/kmemleak.out"
	show "$T/kmemleak.out"
	check "kmemleak: no leaks after the whole run" test ! -s "$T/kmemleak.out"
fi
if [ -r /proc/lockdep_stats ]; then
	# An earlier report turns lockdep off and would hide later ones.
	check "lockdep is still on at the end" \
		grep -Eq 'debug_locks: +1$' /proc/lockdep_stats
fi
rm -rf "$T"
echo "EVENTS-GUEST: pass=$pass fail=$fail"
[ $fail -eq 0 ]
