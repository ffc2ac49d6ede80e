#!/bin/sh
# Install the Debian 12 packages needed to build, lint and boot-test events (idempotent; run as root).
#
# Usage: scripts/setup.sh
# Does nothing (quickly) when every package is installed. Otherwise runs
# `apt-get update` once and installs what is missing, including the newest
# linux-image-6.12.*+deb12-amd64 and its headers, and the PREEMPT_RT
# (-rt-amd64) image and headers of the same version.
set -eu

# The tools VM mode boots the host's root read-only, so what its guest runs
# (rsyslogd, jq, python3, logger, ip) is installed here, on the host.
FIXED="qemu-system-x86 busybox-static cpio gzip kmod sparse gcc make libc6-dev
linux-image-amd64 linux-headers-amd64 linux-source-6.12 xz-utils perl
rsyslog jq python3 bsdutils iproute2 dkms libsystemd-dev pkg-config clang
groff-base gcc-multilib"

# installed PKG: true when PKG is fully installed.
installed() {
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]
}

# newest_612: newest 6.12 flavour-amd64 version that apt offers with both image and headers.
newest_612() {
	apt-cache search --names-only '^linux-(image|headers)-6\.12\.[0-9]+\+deb12-amd64$' |
		sed -n 's/^linux-\(image\|headers\)-\([^ ]*\) .*/\1 \2/p' |
		sort -k2,2V | awk '{ n[$2]++ } n[$2] == 2 { v = $2 } END { if (v) print v }'
}

# installed_612: newest 6.12 version whose image and headers are both installed.
installed_612() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
		'linux-image-6.12.*+deb12-amd64' 'linux-headers-6.12.*+deb12-amd64' 2>/dev/null |
		sed -n 's/^ii  linux-\(image\|headers\)-\([^ ]*\)$/\1 \2/p' |
		sort -k2,2V | awk '{ n[$2]++ } n[$2] == 2 { v = $2 } END { if (v) print v }'
}

# missing_pkgs: print the packages still to install (empty when done).
missing_pkgs() {
	v=$(newest_612)
	[ -n "$v" ] || v=$(installed_612)
	# shellcheck disable=SC2086 # FIXED is a word list
	if [ -n "$v" ]; then
		rt=${v%-amd64}-rt-amd64
		set -- $FIXED "linux-image-$v" "linux-headers-$v" \
			"linux-image-$rt" "linux-headers-$rt"
	else
		# apt does not know 6.12 yet (no package lists): ask for an update.
		# shellcheck disable=SC2086
		set -- $FIXED linux-image-6.12-unknown
	fi
	for p in "$@"; do
		installed "$p" || printf '%s\n' "$p"
	done
}

missing=$(missing_pkgs | paste -sd ' ' -)
if [ -z "$missing" ]; then
	echo "setup: all packages installed (6.12: $(installed_612))"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "setup: missing packages: $missing" >&2
	echo "setup: run as root to install them" >&2
	exit 1
fi

echo "setup: missing: $missing"
echo "setup: apt-get update"
apt-get update
missing=$(missing_pkgs | paste -sd ' ' -)
case $missing in
*linux-image-6.12-unknown*)
	echo "setup: apt offers no linux-image-6.12.*+deb12-amd64 with headers (bookworm-security missing?)" >&2
	exit 1 ;;
esac
echo "setup: installing: $missing"
# INITRD=No: the test VM brings its own initramfs, so skip update-initramfs.
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive INITRD=No \
	apt-get install -y --no-install-recommends $missing
echo "setup: done (6.12: $(installed_612))"
