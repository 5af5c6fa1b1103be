# Build, step 5: docker build, with Keystone's labels and the build
# arguments, on the host's network. The Dockerfile and the context must
# stay inside the clone (a symbolic link in the repository cannot bring
# the node's files in).
# Set before this text: REPO_REF (HOST/keystone/APP/ENV) APP_UUID ENV_UUID
# DOCKERFILE_PATH (in the clone, or empty: the Keystone one) CONTEXT
# BUILD_ARGS ("NAME=value" lines) BUILD_ID (this build's, a label)
# REBUILD (non-empty: nothing from the build cache).
sha=$(cat -- "$WORK/commit") || fail "no commit: the clone step did not finish"
src=$(realpath -e -- "$WORK/src")
ctx=$(realpath -e -- "$src/$CONTEXT" 2>/dev/null) || fail "build context $CONTEXT does not exist in the repository"
case $ctx/ in "$src"/*) ;; *) fail "build context $CONTEXT leads outside the repository" ;; esac
[ -d "$ctx" ] || fail "build context $CONTEXT is not a directory"
if [ -n "$DOCKERFILE_PATH" ]; then
	df=$(realpath -e -- "$src/$DOCKERFILE_PATH" 2>/dev/null) || fail "Dockerfile $DOCKERFILE_PATH does not exist in the repository"
	case $df in "$src"/*) ;; *) fail "Dockerfile $DOCKERFILE_PATH leads outside the repository" ;; esac
else
	df=$WORK/Dockerfile.keystone
fi
check_disk "building"
args=()
[ -z "$REBUILD" ] || args+=(--no-cache)
while IFS= read -r a; do
	[ -z "$a" ] || args+=(--build-arg "$a")
done <<<"$BUILD_ARGS"
ref=$REPO_REF:$sha
dk build --network host --file "$df" \
	--label "dev.keystone.application=$APP_UUID" \
	--label "dev.keystone.environment=$ENV_UUID" \
	--label "dev.keystone.commit=$sha" \
	--label "dev.keystone.build=$BUILD_ID" \
	"${args[@]}" --tag "$ref" -- "$ctx" 2>&1 || fail "docker build failed (see above)"
echo "built $ref"
