# Builds: what every build step starts with (after its assignments).
# Set before this text: WORK (the build's directory, new for each build:
# BUILD_DIR/ks-build-HEX), BUILD_DIR, BUILD_USER (empty: this user), CFG
# (the Docker client configuration), MIN_FREE_KB, NODE (the node's name).
set -eu
fail() { printf '%s\n' "$*"; exit 1; }
me=$(id -un)
[ -n "$BUILD_USER" ] || BUILD_USER=$me
# Runs a command as the build user (who owns WORK and clones).
as_build() { run_as "$BUILD_USER" "$@"; }	# (as_user.sh)
case $WORK in
"$BUILD_DIR"/ks-build-[0-9a-f]*) ;;
*) fail "internal error: the build directory $WORK is not under $BUILD_DIR" ;;
esac
dk() { docker --config "$CFG" "$@"; }
# Free space where builds work, in kB.
free_kb() { df -Pk -- "$BUILD_DIR" | awk 'NR == 2 { print $4 }'; }
# Fails, naming what would have come next, when the node is short of space.
check_disk() {
	local avail
	avail=$(free_kb) || fail "cannot read the free space of $BUILD_DIR on $NODE"
	if [ "$avail" -lt "$MIN_FREE_KB" ]; then
		fail "disk pressure on $NODE: $((avail / 1024)) MB free in $BUILD_DIR," \
			"below the build threshold of $((MIN_FREE_KB / 1024)) MB" \
			"(build_min_free_mb); $1 not started"
	fi
}
