#!/bin/sh
# Extract the kselftest headers and checkpatch from the linux-source tarball into build/ksrc/ (cached).
#
# Usage: scripts/ksrc.sh
# Prints the extracted source root (e.g. .../build/ksrc/linux-source-6.12) on stdout.
# KSRC_TAR selects the tarball (default: newest /usr/src/linux-source-*.tar.xz).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/ksrc

TAR=${KSRC_TAR:-$(find /usr/src -maxdepth 1 -name 'linux-source-*.tar.xz' | sort -V | tail -n 1)}
if [ -z "$TAR" ] || [ ! -f "$TAR" ]; then
	echo "ksrc: no linux-source tarball in /usr/src (run scripts/setup.sh)" >&2
	exit 1
fi
TOP=$(basename "$TAR" .tar.xz)
STAMP=$OUT/.$TOP.stamp
# dpkg keeps the package's mtime, so compare the tarball's identity, not just -nt.
ID="$TAR $(stat -c '%Y %s' "$TAR")"

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$ID" ]; then
	echo "ksrc: extracting from $TAR" >&2
	TMP=$(mktemp -d "$OUT/.tmp.XXXXXX")
	trap 'rm -rf "$TMP"' EXIT
	tar -xJf "$TAR" -C "$TMP" --wildcards \
		"$TOP/tools/testing/selftests/kselftest*" \
		"$TOP/scripts/checkpatch.pl" \
		"$TOP/scripts/spelling.txt" \
		"$TOP/scripts/const_structs.checkpatch"
	rm -rf "${OUT:?}/$TOP"
	mv "$TMP/$TOP" "$OUT/$TOP"
	echo "$ID" >"$STAMP"
fi

echo "$OUT/$TOP"
