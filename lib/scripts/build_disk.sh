# Build, step 1: the build node can take a build: enough free space (its
# health: "KS_REPORT free_kb=N min_kb=M engine=ok|down"), a Docker engine
# that answers, git. Nothing is cloned when it cannot.
[ -d "$BUILD_DIR" ] || fail "$BUILD_DIR does not exist on $NODE"
avail=$(free_kb) || fail "cannot read the free space of $BUILD_DIR on $NODE"
engine=ok
einfo=$(dk info --format '{{.ServerVersion}}' 2>&1) || engine=down
printf 'KS_REPORT free_kb=%s min_kb=%s engine=%s\n' "$avail" "$MIN_FREE_KB" "$engine"
[ "$engine" = ok ] || fail "the Docker engine on $NODE does not answer:" \
	"$(printf '%s\n' "$einfo" | grep . | tail -n 1)"
echo "Docker engine $einfo; $((avail / 1024)) MB free in $BUILD_DIR"
check_disk "cloning"
command -v git >/dev/null || fail "git is not installed on $NODE"
