# Health check on a node, with its own Docker and the credential its
# config.json holds (what builds and deploys will use):
#   MODE=pull  runtime servers pull the probe by digest;
#   MODE=push  build nodes pull it, tag it and push it back.
# The probe is removed from the node afterwards, so the next check pulls
# again.
# Set before this text: MODE HOST REPO MANIFEST_DIGEST TAG DOCKER_USER (empty: this user) CFG.
set -u
fail() { printf '%s\n' "$*"; exit 1; }
me=$(id -un)
[ -n "$DOCKER_USER" ] || DOCKER_USER=$me
as_user() {
	if [ "$DOCKER_USER" = "$me" ]; then
		"$@"
	elif [ "$(id -u)" = 0 ]; then
		runuser -u "$DOCKER_USER" -- "$@"
	else
		sudo -n -u "$DOCKER_USER" -- "$@"
	fi
}
dk() { as_user docker --config "$CFG" "$@"; }
last() { printf '%s\n' "$1" | grep . | tail -n 1; }
command -v docker >/dev/null || fail "docker is not installed on this node"
ref=$HOST/$REPO@$MANIFEST_DIGEST
out=$(dk pull -q "$ref" 2>&1) || fail "docker pull $ref failed: $(last "$out")"
if [ "$MODE" = push ]; then
	tagged=$HOST/$REPO:$TAG
	dk tag "$ref" "$tagged" || fail "docker tag failed"
	out=$(dk push "$tagged" 2>&1)
	rc=$?
	dk rmi "$tagged" >/dev/null 2>&1 || true
	dk rmi "$ref" >/dev/null 2>&1 || true
	[ "$rc" = 0 ] || fail "docker push $tagged failed: $(last "$out")"
	echo "docker pushed $tagged with this node's credential"
else
	dk rmi "$ref" >/dev/null 2>&1 || true
	echo "docker pulled $ref with this node's credential"
fi
