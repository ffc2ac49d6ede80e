#!/bin/sh
# Print the kernel versions of the test matrix, one per line (newest installed per series).
#
# Usage: scripts/kernels.sh [NAME...]          (default: 6.1 6.12)
# NAME is a series, optionally with a flavour:
#   6.1       newest /boot/vmlinuz-6.1.*-amd64   (no -rt/-cloud)
#   6.12      newest /boot/vmlinuz-6.12.*-amd64  (no -rt/-cloud)
#   6.12-rt   newest /boot/vmlinuz-6.12.*-rt-amd64
# A kernel counts as installed when both its image and its headers
# (/lib/modules/VERSION/build) are present. Exits 1 if a NAME matches nothing.
set -eu

[ $# -gt 0 ] || set -- 6.1 6.12

# versions: print installed kernel versions matching the extended regex $1.
versions() {
	for f in /boot/vmlinuz-*; do
		[ -e "$f" ] || continue
		v=${f#/boot/vmlinuz-}
		[ -d "/lib/modules/$v/build" ] || continue
		printf '%s\n' "$v"
	done | grep -E "$1" | sort -V
}

status=0
for name in "$@"; do
	series=${name%%-*}
	flavour=
	[ "$series" = "$name" ] || flavour=${name#*-}
	re="^$(printf '%s' "$series" | sed 's/\./\\./g')\\.[0-9]"
	case $flavour in
	"")
		v=$(versions "$re.*-amd64\$" | grep -Ev -- '-(rt|cloud)-amd64$' | tail -n 1) ;;
	rt | cloud)
		v=$(versions "$re.*-$flavour-amd64\$" | tail -n 1) ;;
	*)
		echo "kernels: unknown flavour '$flavour' in '$name'" >&2
		status=1
		continue ;;
	esac
	if [ -z "$v" ]; then
		echo "kernels: no installed kernel with headers for '$name'" >&2
		status=1
		continue
	fi
	printf '%s\n' "$v"
done
exit $status
