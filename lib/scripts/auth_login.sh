# Registry auth on a node, step 2: the node's Docker client config holds
# the credential for the registry (build nodes: the build credential;
# runtime servers: the runtime one). `docker login --password-stdin` with
# the password from stdin (REGISTRY_PASSWORD); other registries' entries
# in config.json are kept; the file ends up owned by the Docker user, 0600,
# in a 0700 directory. Nothing changes when the credential is already there.
# Set before this text: HOST REG_USER DOCKER_USER (empty: this user) CFG.
set -eu
fail() { printf '%s\n' "$*"; exit 1; }
me=$(id -un)
[ -n "$DOCKER_USER" ] || DOCKER_USER=$me
id -- "$DOCKER_USER" >/dev/null 2>&1 || fail "user $DOCKER_USER does not exist on this node"
as_user() { run_as "$DOCKER_USER" "$@"; }	# (as_user.sh)
command -v docker >/dev/null || fail "docker is not installed on this node"
as_user mkdir -p -- "$CFG"
auth=$(printf '%s:%s' "$REG_USER" "$REGISTRY_PASSWORD" | base64 -w0)
if as_user test -f "$CFG/config.json" &&
	printf '"%s"\n' "$auth" | as_user grep -qF -f - -- "$CFG/config.json"; then
	echo "Docker already holds the $REG_USER credential for $HOST"
else
	out=$(printf '%s\n' "$REGISTRY_PASSWORD" | as_user docker --config "$CFG" login \
		--username "$REG_USER" --password-stdin "$HOST" 2>&1) ||
		fail "docker login to $HOST failed: $(printf '%s\n' "$out" | grep . | tail -n 1)"
	echo "docker login to $HOST as $REG_USER succeeded"
fi
if [ "$(id -u)" = 0 ]; then
	chown -- "$DOCKER_USER:" "$CFG" "$CFG/config.json"
fi
as_user chmod 0700 -- "$CFG"
as_user chmod 0600 -- "$CFG/config.json"
stat -c '%n: owner %U:%G, mode %a' -- "$CFG/config.json"
