#!/bin/sh
# Boot the newest 6.12 kernel in a VM with the module loaded: the demo, or a shell.
#
# Usage: scripts/run.sh [demo|shell] [SERIES]
#   demo   (default) the scripted demo; with a terminal, a shell in the VM afterwards
#   shell  straight to a shell in the VM, events.ko loaded (needs a terminal)
#   SERIES a name for scripts/kernels.sh (default 6.12)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-demo}
kver=$("$ROOT/scripts/kernels.sh" "${2:-6.12}")

tty=0
if [ -t 0 ] && [ -t 1 ]; then
	tty=1
fi

case $what in
demo)
	if [ "$tty" = 1 ]; then
		exec "$ROOT/scripts/vm-run.sh" "$kver" shell
	fi
	exec "$ROOT/scripts/vm-run.sh" "$kver" demo ;;
shell)
	if [ "$tty" = 0 ]; then
		echo "run: a shell needs a terminal; running the demo instead" >&2
		exec "$ROOT/scripts/vm-run.sh" "$kver" demo
	fi
	VM_DEMO=0
	export VM_DEMO
	exec "$ROOT/scripts/vm-run.sh" "$kver" shell ;;
*)
	echo "usage: $0 [demo|shell] [SERIES]" >&2
	exit 2 ;;
esac
