# Health check on a node, with its own Docker and the credential its
# config.json holds (what builds and deploys will use):
#   MODE=pull  runtime servers pull the probe by digest;
#   MODE=push  build nodes pull it, tag it and push it back.
# The probe is removed from the node before the pull (so only the registry
# can have served it) and afterwards.
# Set before this text: MODE HOST REPO MANIFEST_DIGEST TAG DOCKER_USER (empty: this user) CFG.
set -u
fail() { printf '%s\n' "$*"; exit 1; }
me=$(id -un)
[ -n "$DOCKER_USER" ] || DOCKER_USER=$me
as_user() { run_as "$DOCKER_USER" "$@"; }	# (as_user.sh)
dk() { as_user docker --config "$CFG" "$@"; }
last() { printf '%s\n' "$1" | grep . | tail -n 1; }
command -v docker >/dev/null || fail "docker is not installed on this node"
ref=$HOST/$REPO@$MANIFEST_DIGEST
dk rmi "$ref" >/dev/null 2>&1 || true
if dk image inspect "$ref" >/dev/null 2>&1; then
	fail "$ref is still on this node after docker rmi: a pull would not show that the registry serves it"
fi
# Docker falls back to plain HTTP for a registry it deems insecure (any on
# 127.0.0.0/8 is): the pull went over HTTPS only if the registry's address
# does not serve the registry API over plain HTTP.
how="over HTTPS"
if command -v curl >/dev/null; then
	plain=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$HOST/v2/") || plain=000
	case $plain in
	200 | 401) how="(http://$HOST/v2/ answers too: HTTPS not shown)" ;;
	esac
else
	how="(no curl here to show it was over HTTPS)"
fi
out=$(dk pull -q "$ref" 2>&1) || fail "docker pull $ref failed: $(last "$out")"
dk image inspect "$ref" >/dev/null 2>&1 ||
	fail "docker pull $ref succeeded but the image is not on this node"
if [ "$MODE" = push ]; then
	tagged=$HOST/$REPO:$TAG
	dk tag "$ref" "$tagged" || fail "docker tag failed"
	out=$(dk push "$tagged" 2>&1)
	rc=$?
	dk rmi "$tagged" >/dev/null 2>&1 || true
	dk rmi "$ref" >/dev/null 2>&1 || true
	[ "$rc" = 0 ] || fail "docker push $tagged failed: $(last "$out")"
	echo "docker pulled $ref by digest from the registry $how (not on this node before) and pushed it back as $tagged, with this node's credential"
else
	dk rmi "$ref" >/dev/null 2>&1 || true
	echo "docker pulled $ref by digest from the registry $how (not on this node before), with this node's credential"
fi
