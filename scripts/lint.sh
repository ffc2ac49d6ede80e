#!/bin/bash
# Host-side checks of the module sources (checkpatch, W=1, sparse, 6.1 build), each counted as a test.
#
# Usage: scripts/lint.sh
# Prints "ok"/"not ok" per check and "lint: X passed, Y failed", writes "X Y"
# to build/lint.result, exits 1 on any failure. Builds go to build/lint/.
# EVENTS_SRC: tree to check (default: this repo).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$ROOT/scripts/lib.sh"
SRC=${EVENTS_SRC:-$ROOT}
L=$ROOT/build/lint
mkdir -p "$L"
echo "0 1" >"$ROOT/build/lint.result"

pass=0
fail=0
n=0

# result OK NAME [DIAG FILE]: print one TAP line, then the diagnostics (indented) on failure.
result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
		pass=$((pass + 1))
	else
		echo "not ok $n - $2"
		fail=$((fail + 1))
		# Point at the sources, not at the build copy.
		[ -z "${3:-}" ] || sed -e "s|$L/[^/]*/||g" -e 's/^/#   /' "$3"
	fi
}

# build_check NAME KVER DIR [MAKE ARGS]: build a fresh copy in DIR; fail on a failed build
# or any compiler "warning:" line.
build_check() {
	local name=$1 kver=$2 dir=$3
	shift 3
	local rc=0
	ev_copy_src "$SRC" "$dir"
	ev_build "/lib/modules/$kver/build" "$dir" "$dir.log" "$@" >/dev/null || rc=$?
	if [ "$rc" -ne 0 ]; then
		grep -E 'error|warning' "$dir.log" >"$dir.diag" || tail -n 20 "$dir.log" >"$dir.diag"
		result 1 "$name (build failed, build/lint/${dir##*/}.log)" "$dir.diag"
	elif grep 'warning:' "$dir.log" >"$dir.diag"; then
		result 1 "$name" "$dir.diag"
	else
		result 0 "$name"
	fi
}

k612=$("$ROOT/scripts/kernels.sh" 6.12)
k61=$("$ROOT/scripts/kernels.sh" 6.1)

# (a) checkpatch --strict: any ERROR, WARNING or CHECK fails.
ksrc=$("$ROOT/scripts/ksrc.sh")
files=()
for f in "$SRC"/kmod/*.[ch] "$SRC"/include/uapi/linux/*.h "$SRC"/include/linux/*.h; do
	case $f in *.mod.c) continue ;; esac	# kbuild's, left by an in-tree build
	[ -f "$f" ] && files+=("${f#"$SRC"/}")
done
if [ ${#files[@]} -eq 0 ]; then
	echo "# no sources in kmod/ and include/" >"$L/checkpatch.log"
	result 1 "checkpatch --strict" "$L/checkpatch.log"
else
	(cd "$SRC" && perl "$ksrc/scripts/checkpatch.pl" --strict --no-tree --terse \
		--no-summary --show-types -f "${files[@]}") >"$L/checkpatch.log" 2>&1 || true
	if grep -qE '(ERROR|WARNING|CHECK):' "$L/checkpatch.log"; then
		result 1 "checkpatch --strict (${#files[@]} files)" "$L/checkpatch.log"
	else
		result 0 "checkpatch --strict (${#files[@]} files)"
	fi
fi

# (b) W=1 build against the newest 6.12 headers.
build_check "W=1 build, $k612" "$k612" "$L/w1-$k612" W=1

# (c) sparse on every file (C=2), 6.12 headers. Build first so that the C=2 pass
# prints sparse's findings only; count the lines that point into our sources.
d=$L/sparse-$k612
ev_copy_src "$SRC" "$d"
if ! ev_build "/lib/modules/$k612/build" "$d" "$d.build.log" >/dev/null; then
	result 1 "sparse C=2, $k612 (build failed, build/lint/${d##*/}.build.log)"
else
	ev_build "/lib/modules/$k612/build" "$d" "$d.log" C=2 >/dev/null || true
	grep -E 'warning:|error:' "$d.log" >"$d.all" || true
	grep -F "$d/" "$d.all" >"$d.diag" || true
	other=$(grep -cvF "$d/" "$d.all" || true)
	[ "$other" -eq 0 ] || echo "# sparse: ignored $other lines from kernel headers (build/lint/${d##*/}.log)"
	if [ -s "$d.diag" ]; then
		result 1 "sparse C=2, $k612" "$d.diag"
	else
		result 0 "sparse C=2, $k612"
	fi
fi

# (d) The module also builds against the newest 6.1 headers, without warnings.
build_check "build, $k61" "$k61" "$L/build-$k61"

echo "lint: $pass passed, $fail failed"
echo "$pass $fail" >"$ROOT/build/lint.result"
[ "$fail" -eq 0 ]
