#!/bin/sh
# A short scripted tour of /dev/events for a human watching the VM console.
#
# Runs in the test VM (busybox). Exits 0 when every step behaved as expected.
set -u

MOD=${EVENTS_MODDIR:-/lib/events}
bad=0

# step TEXT: print a caption.
step() {
	echo
	echo "# $*"
}

# run CMD: show CMD as if typed at a prompt, then run it in this shell.
run() {
	echo "\$ $1"
	eval "$1"
}

# ok CMD: run CMD, which must succeed; returns its status.
ok() {
	run "$1" && return 0
	echo "!! unexpected failure"
	bad=$((bad + 1))
	return 1
}

# refused CMD: run CMD, which must fail.
refused() {
	if run "$1"; then
		echo "!! unexpectedly succeeded"
		bad=$((bad + 1))
	else
		echo "(refused, as expected)"
	fi
}

step "Load the module"
if ! ok "insmod $MOD/events.ko"; then
	echo "# demo: cannot go on without the module"
	exit 1
fi

step "The device node (mode 0600 by default) and the module parameters"
ok "ls -l /dev/events"
ok "grep -H . /sys/module/events/parameters/*"

step "One write is one event"
ok 'echo "backup started" > /dev/events'

step "A few more, one with control bytes (tab, bell); they come back escaped as \\xNN"
ok 'echo "backup: 1200 files" > /dev/events'
ok "printf 'login failed\\tuser=root\\a\\n' > /dev/events"
ok 'echo "backup finished" > /dev/events'

step "Records: seq,sec.nsec,origin(u=write k=kernel l=loss),pid,uid,comm;message"
step "Follow the device in the background: history first, then live events"
ok "cat /dev/events &"
cat_pid=$!
sleep 1

step "Write while cat is following"
ok 'echo "disk 93% full" > /dev/events'
ok 'echo "user alice logged in" > /dev/events'
sleep 1
kill "$cat_pid"
wait "$cat_pid" 2>/dev/null

step "Every new reader starts at the oldest record: head takes three and exits"
ok "timeout 5 head -n 3 /dev/events"

step "Kernel code logs through events_log(): origin k, from hardirq, softirq and process context"
if [ -e "$MOD/events_api_test.ko" ]; then
	ok "insmod $MOD/events_api_test.ko count=2"
	ok "timeout 5 grep -m6 ',k,' /dev/events"
	ok "rmmod events_api_test"
else
	echo "(events_api_test.ko not built; skipped)"
fi

step "Loss: reload with a 4096-byte ring (small events only), open a reader, write 200 events"
ok "rmmod events"
if ok "insmod $MOD/events.ko ring_size=4096 max_payload=256"; then
	ok "exec 3</dev/events"
	# shellcheck disable=SC2016 # expanded by eval in run()
	ok 'i=0; while [ $i -lt 200 ]; do echo "event $i" > /dev/events; i=$((i + 1)); done'

	step "The reader that fell behind gets one loss line in place of the dropped events"
	# No `timeout` here: its watcher process would inherit fd 3 and keep the module busy.
	ok "grep -m1 ',l,' <&3"

	step "rmmod is refused while a reader has /dev/events open"
	refused "rmmod events"

	step "Close the reader; now the module unloads"
	ok "exec 3<&-"
	ok "rmmod events"
fi

echo
if [ "$bad" -eq 0 ]; then
	echo "# demo: all steps behaved as expected"
	exit 0
fi
echo "# demo: $bad unexpected result(s)"
exit 1
