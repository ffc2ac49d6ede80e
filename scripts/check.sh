#!/bin/bash
# Run every test: setup, selftest build, lint, then the VM check on each kernel of the matrix.
#
# Usage: scripts/check.sh [NAME...]    (kernel names for scripts/kernels.sh; default: its matrix)
# Ends with the line "N passed, N failed" (sums over all parts); exits 1 on any failure.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p build

total_pass=0
total_fail=0
summary=()

# record NAME PASS FAIL SECONDS: add a part to the totals and the summary.
record() {
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
	summary+=("$(printf '%-28s %4d passed, %2d failed %6d s' "$1" "$2" "$3" "$4")")
}

# result_of FILE: the "PASS FAIL" in FILE, or "0 1" when it is missing.
result_of() {
	if [ -s "$1" ]; then
		cat "$1"
	else
		echo "0 1"
	fi
}

finish() {
	echo
	echo "== summary"
	printf '%s\n' "${summary[@]}"
	echo "total wall time $((SECONDS)) s"
	echo "$total_pass passed, $total_fail failed"
	[ "$total_fail" -eq 0 ]
	exit
}

echo "== setup"
t=$SECONDS
if ! scripts/setup.sh; then
	record setup 0 1 $((SECONDS - t))
	finish
fi
echo "setup: $((SECONDS - t)) s"
summary+=("$(printf '%-28s %27s %6d s' setup "" $((SECONDS - t)))")

echo "== selftests build"
t=$SECONDS
ksft=$(scripts/ksrc.sh)/tools/testing/selftests
if make -C selftests KSFT_DIR="$ksft" OUTPUT="$ROOT/build/selftests"; then
	record "selftests build" 1 0 $((SECONDS - t))
else
	record "selftests build" 0 1 $((SECONDS - t))
fi
echo "selftests build: $((SECONDS - t)) s"

echo "== lint"
t=$SECONDS
scripts/lint.sh || true
read -r p f < <(result_of build/lint.result)
record lint "$p" "$f" $((SECONDS - t))
echo "lint: $((SECONDS - t)) s"

if ! kernels=$(scripts/kernels.sh "$@"); then
	record "kernel matrix" 0 1 0
fi
for k in $kernels; do
	echo "== $k"
	t=$SECONDS
	rm -f "build/$k/result"
	scripts/vm-run.sh "$k" check || true
	read -r p f < <(result_of "build/$k/result")
	record "$k" "$p" "$f" $((SECONDS - t))
	echo "$k: $((SECONDS - t)) s"
done

finish
