#!/bin/bash
# Run every test: setup, selftest build, lint, then the VM check on each kernel of the matrix.
#
# Usage: scripts/check.sh [NAME...]
#   NAME: 6.1, 6.12, 6.12-rt (Debian's kernels, see scripts/kernels.sh),
#   debug, kcsan (built by scripts/build-kernel.sh),
#   tools    `make -C userspace check` on the host, then the tools VM mode on 6.12,
#   install  make install into a scratch DESTDIR (scripts/install-check.sh),
#   dkms     dkms add/build/install/remove for 6.1 and 6.12 (scripts/dkms-check.sh);
#   default: all of them. The selftests build and lint run when a kernel is named.
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

# The matrix: Debian's kernels, the host-side tools, install and DKMS checks,
# then the two debug kernels built from Debian's linux-source (cached under
# /var/cache/events-kernels).
[ $# -gt 0 ] || set -- 6.1 6.12 6.12-rt tools install dkms debug kcsan

# The selftests and the lint are for the kernel checks only.
kernels=0
for name in "$@"; do
	case $name in tools | install | dkms) ;; *) kernels=1 ;; esac
done

if [ "$kernels" = 1 ]; then
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
fi

# run_kernel NAME KVER [VAR=VALUE...]: one VM check, recorded under NAME.
run_kernel() {
	run_vm "$1" "$2" check "${@:3}"
}

# run_vm NAME KVER MODE [VAR=VALUE...]: one VM run of vm-run.sh's MODE, recorded under NAME.
run_vm() {
	local name=$1 k=$2 mode=$3 t=$SECONDS p f
	shift 3
	echo "== $name ($k)"
	rm -f "build/$k/result"
	env "$@" scripts/vm-run.sh "$k" "$mode" || true
	read -r p f < <(result_of "build/$k/result")
	record "$name" "$p" "$f" $((SECONDS - t))
	echo "$name: $((SECONDS - t)) s"
}

# userspace_check: `make -C userspace check` on the host (unit tests, a brief fuzz),
# counted by its last "N passed, N failed" line, else by its exit status.
userspace_check() {
	local t=$SECONDS rc line p f
	echo "== tools: make -C userspace check"
	set +e
	make -C userspace OUTPUT="$ROOT/build/tools" check 2>&1 | tee build/userspace-check.log
	rc=${PIPESTATUS[0]}
	set -e
	line=$(grep -aoE '[0-9]+ passed, [0-9]+ failed' build/userspace-check.log | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "not ok - make -C userspace check exited $rc"
			f=1
		fi
	elif [ "$rc" -eq 0 ]; then
		p=1 f=0
	else
		echo "not ok - make -C userspace check exited $rc"
		p=0 f=1
	fi
	record "userspace check" "$p" "$f" $((SECONDS - t))
}

# run_script NAME SCRIPT RESULT: a host-side check script and the "PASS FAIL" it writes.
run_script() {
	local t=$SECONDS p f
	echo "== $1"
	rm -f "$3"
	"$2" || true
	read -r p f < <(result_of "$3")
	record "$1" "$p" "$f" $((SECONDS - t))
}

for name in "$@"; do
	case $name in
	tools)
		userspace_check
		if k=$(scripts/kernels.sh 6.12); then
			run_vm "tools VM (6.12)" "$k" tools
		else
			record "tools VM (6.12)" 0 1 0
		fi
		;;
	install)
		run_script install scripts/install-check.sh build/install.result
		;;
	dkms)
		run_script dkms scripts/dkms-check.sh build/dkms.result
		;;
	debug | kcsan)
		echo "== $name kernel"
		t=$SECONDS
		if ! dir=$(scripts/build-kernel.sh "$name" | tail -n 1) ||
			[ ! -f "$dir/kernelrelease" ]; then
			record "$name kernel build" 0 1 $((SECONDS - t))
			continue
		fi
		record "$name kernel build" 1 0 $((SECONDS - t))
		# Longer stress and fuzzing on the instrumented kernels. Under
		# TCG their user-space writers manage 1-3 thousand events/s, so
		# kernel bursts (events_api_test burst=) bring each run to a
		# million events after the mixed phase.
		if [ "$name" = debug ]; then
			extra="kasan_multi_shot evstress=90 evstress_min=1000000 evstress_flood=1000000 evfuzz=100000"
		else
			extra="evstress=60 evstress_min=1000000 evstress_flood=1000000 evfuzz=30000"
		fi
		run_kernel "$name" "$(cat "$dir/kernelrelease")" \
			VM_KERNEL="$dir/vmlinuz" VM_KDIR="$dir/build" \
			VM_TIMEOUT=1500 VM_APPEND="$extra"
		;;
	*)
		if ! k=$(scripts/kernels.sh "$name"); then
			record "$name" 0 1 0
			continue
		fi
		run_kernel "$name" "$k"
		;;
	esac
done

finish
