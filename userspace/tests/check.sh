#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make -C userspace check: host unit tests and a short fuzz run, as TAP.
# Ends with "N passed, N failed" and exits non-zero on any failure.
set -u
O=${O:-.}
CLANG=${CLANG:-clang}
FUZZ_TIME=${FUZZ_TIME:-10}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$O/tests/test_parse" > "$out/unit"
cat "$out/unit"
pass=$(grep -c '^ok ' "$out/unit")
fail=$(grep -c '^not ok ' "$out/unit")
n=$((pass + fail))

n=$((n + 1))
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "ok $n - fuzz_record # SKIP $CLANG not found (apt-get install clang)"
	pass=$((pass + 1))
elif ! $MAKE -s "$O/tests/fuzz_record" > "$out/build" 2>&1; then
	cat "$out/build" >&2
	echo "not ok $n - fuzz_record: build failed"
	fail=$((fail + 1))
else
	mkdir -p "$out/corpus"
	if "$O/tests/fuzz_record" -max_total_time="$FUZZ_TIME" \
	    -max_len=8192 "$out/corpus" > "$out/fuzz" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$out/fuzz" | tail -1)
		echo "ok $n - fuzz_record ${FUZZ_TIME}s: ${runs:-done}"
		pass=$((pass + 1))
	else
		tail -30 "$out/fuzz" >&2
		echo "not ok $n - fuzz_record found a crash"
		fail=$((fail + 1))
	fi
fi
echo "1..$n"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
