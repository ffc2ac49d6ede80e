#!/bin/sh
# The tools mode's own test when the repo has no userspace/tests/run_tools_guest.sh:
# the host's programs the tool tests need run in the guest, and /dev/events works there.
# Prints TAP; exits 1 if any test failed.

n=0
failed=0
# t DESC CMD...: one TAP line for CMD's status.
t() {
	n=$((n + 1))
	_d=$1
	shift
	if "$@"; then
		echo "ok $n - $_d"
	else
		echo "not ok $n - $_d"
		failed=1
	fi
}

tag=evsmoke-$$-$(date +%s)

# shellcheck disable=SC2317 # called through t
logged() {
	logger -t evsmoke "$tag" || return 1
	_i=0
	until grep -q "evsmoke.*$tag" /var/log/syslog 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -le 50 ] || return 1
		sleep 0.1
	done
}
t "logger reaches rsyslogd's /var/log/syslog" logged

t "jq runs" test "$(echo '{"a":[1,2,3]}' | jq -c '.a | map(. * 2)')" = "[2,4,6]"
t "python3 runs" test "$(python3 -c 'import json, sys; print(json.dumps(sys.version_info[0]))')" = 3
t "loopback is up" sh -c 'ip -o link show lo | grep -q "[<,]UP[,>]"'

t "/dev/events is a character device" test -c /dev/events
t "write an event" sh -c "printf '%s' '$tag' >/dev/events"
# Read the history without blocking: O_NONBLOCK, read until EAGAIN.
history() {
	python3 - <<'PY'
import errno, os, sys
fd = os.open("/dev/events", os.O_RDONLY | os.O_NONBLOCK)
out = b""
while True:
    try:
        b = os.read(fd, 65536)
    except OSError as e:
        if e.errno == errno.EAGAIN:
            break
        raise
    if not b:
        break
    out += b
sys.stdout.write(out.decode("utf-8", "replace"))
PY
}
line=$(history | grep -F ";$tag" | tail -n 1)
echo "# $line"
t "read it back from the history (python3, O_NONBLOCK)" test -n "$line"
t "its record says a user process wrote it" sh -c "echo '$line' | grep -q '^[0-9]*,[0-9.]*,u,'"

if [ -n "${EVENTS_TOOLS:-}" ] && [ -d "$EVENTS_TOOLS" ]; then
	echo "# tools in $EVENTS_TOOLS: $(cd "$EVENTS_TOOLS" && echo *)"
	if [ -x "$EVENTS_TOOLS/evwatch" ]; then
		t "evwatch prints the history" sh -c \
			"'$EVENTS_TOOLS/evwatch' -t 500 | grep -qF ';$tag'"
	fi
else
	echo "# no tool binaries (EVENTS_TOOLS=${EVENTS_TOOLS:-})"
fi

echo "1..$n"
exit $failed
