# shellcheck shell=sh
# Helpers shared by vm-run.sh and lint.sh (sourced, not run).

# ev_copy_src SRC DEST: copy Kbuild, kmod/ and include/ of tree SRC into a fresh DEST,
# leaving out build products, so out-of-tree builds never write into the source tree.
ev_copy_src() {
	rm -rf "$2"
	mkdir -p "$2"
	(cd "$1" && tar -chf - --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.cmd' --exclude='.*.d' --exclude='*.a' \
		--exclude=modules.order --exclude=Module.symvers \
		Kbuild kmod include) | tar -xf - -C "$2"
}

# ev_build KDIR DIR LOG [MAKE ARGS...]: build the modules in DIR against the kernel build
# tree KDIR (e.g. /lib/modules/VERSION/build), output to LOG and stdout. Returns make's status.
ev_build() {
	_kdir=$1 _dir=$2 _log=$3
	shift 3
	# The status of make, not of sed, is what counts.
	{ make -C "$_kdir" M="$_dir" -j"$(nproc)" "$@" modules 2>&1
		echo "$?" >"$_log.rc"; } | tee "$_log" | sed 's/^/  /'
	_rc=$(cat "$_log.rc")
	rm -f "$_log.rc"
	return "$_rc"
}

# A host-side check's TAP counters: ev_t DESC CMD... prints one TAP line for
# CMD's status; ev_finish NAME prints "NAME: X passed, Y failed", writes
# "X Y" to build/NAME.result and exits 1 on any failure.
ev_pass=0
ev_fail=0
ev_t() {
	local d=$1
	shift
	if "$@"; then
		echo "ok - $d"
		ev_pass=$((ev_pass + 1))
	else
		echo "not ok - $d"
		ev_fail=$((ev_fail + 1))
	fi
}
ev_finish() {
	echo "$1: $ev_pass passed, $ev_fail failed"
	echo "$ev_pass $ev_fail" >"$ROOT/build/$1.result"
	[ "$ev_fail" -eq 0 ]
	exit
}
