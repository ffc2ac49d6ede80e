#!/bin/sh
# Stage 2 of the tools VM mode: runs chrooted in the host's root (see tools_root in init).
#
# Starts rsyslogd (Debian's configuration, so /dev/log and /var/log/syslog exist),
# loads the freshly built events.ko, then runs the repo's
# userspace/tests/run_tools_guest.sh, or tools-smoke.sh when the repo has none, with
#   EVENTS_TOOLS   directory of the tool binaries built from userspace/
#   EVENTS_LIB     directory of libevents.so
#   EVENTS_MODDIR  directory of the built modules (events.ko, events_api_test.ko)
#   EVENTS_REPO    the repository (read-only)
# It counts the test script's TAP lines ("ok"/"not ok" at the start of a line) and its exit
# status, and ends with "EVENTS-GUEST: pass=X fail=Y".

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HOME=/root
LANG=C.UTF-8
export PATH HOME LANG
# shellcheck source=/dev/null # written by vm-run.sh
. /run/events/tools.env
export EVENTS_TOOLS EVENTS_LIB EVENTS_MODDIR EVENTS_REPO

pass=0
fail=0
# check DESC CMD...: one TAP line of our own for CMD's status.
check() {
	_d=$1
	shift
	if "$@"; then
		echo "ok - $_d"
		pass=$((pass + 1))
	else
		echo "not ok - $_d"
		fail=$((fail + 1))
	fi
}

# wait_for TEST...: true once `test TEST...` holds, polling for up to 10 s.
wait_for() {
	_i=0
	while ! test "$@"; do
		_i=$((_i + 1))
		[ "$_i" -le 100 ] || return 1
		sleep 0.1
	done
}

# shellcheck source=/dev/null
echo "# tools guest: $(uname -r), root: the host's $(. /etc/os-release && echo "$PRETTY_NAME")"
start_syslog() {
	rsyslogd -i /run/rsyslogd.pid && wait_for -S /dev/log
}
check "rsyslogd started, /dev/log is a socket" start_syslog
check "insmod events.ko" insmod "$EVENTS_MODDIR/events.ko"

script=$EVENTS_REPO/userspace/tests/run_tools_guest.sh
if [ ! -f "$script" ]; then
	echo "# $script missing: running the smoke test instead"
	script=/run/events/tools-smoke.sh
fi
echo "# running $script (EVENTS_TOOLS=$EVENTS_TOOLS EVENTS_LIB=$EVENTS_LIB)"
cd /tmp || exit 1
run_script() {
	if [ -x "$script" ]; then "$script"; else sh "$script"; fi
}
{ run_script; echo "$?" >/tmp/tools.rc; } 2>&1 | tee /tmp/tools.out
rc=$(cat /tmp/tools.rc)
p=$(grep -c '^ok\b' /tmp/tools.out)
f=$(grep -c '^not ok\b' /tmp/tools.out)
pass=$((pass + p))
fail=$((fail + f))
if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
	echo "not ok - ${script##*/} exited $rc"
	fail=$((fail + 1))
elif [ "$p" = 0 ] && [ "$f" = 0 ]; then
	echo "not ok - ${script##*/} printed no TAP results"
	fail=$((fail + 1))
fi

# On failure, what userspace logged (the kernel's lines come with the dmesg anyway).
if [ "$fail" != 0 ] && [ -s /var/log/syslog ]; then
	echo "# the guest's /var/log/syslog without the kernel's lines (last 30):"
	grep -v '^[^ ]* [^ ]* kernel: ' /var/log/syslog | tail -n 30 | sed 's/^/#   /'
fi
[ ! -e /run/rsyslogd.pid ] || kill "$(cat /run/rsyslogd.pid)" 2>/dev/null
echo "EVENTS-GUEST: pass=$pass fail=$fail"
