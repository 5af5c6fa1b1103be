# Managed registry, step 3: the registry:2 container, recreated only when
# its configuration, credentials, storage or image changed (registry:2
# reads htpasswd at start only) or when it is not running.
# Set before this text: NAME IMAGE CONF_DIR STORAGE LISTEN.
set -eu
fail() { printf '%s\n' "$*"; exit 1; }
command -v docker >/dev/null || fail "docker is not installed on the control node"
docker info >/dev/null 2>&1 || fail "the Docker engine on the control node is not running"
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
	docker pull "$IMAGE" || fail "cannot pull $IMAGE"
fi
# A container of that name that is not this Keystone's (its configuration
# comes from another data directory, or from none) is never taken over.
if docker inspect "$NAME" >/dev/null 2>&1; then
	owner=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/etc/keystone-registry"}}{{.Source}}{{end}}{{end}}' "$NAME")
	[ -n "$owner" ] || owner="none"
	[ "$owner" = "$CONF_DIR" ] ||
		fail "a container named $NAME exists but is not this Keystone's registry (its configuration directory: $owner; this Keystone's: $CONF_DIR): remove it or set registry_container"
fi
want=$({
	cat -- "$CONF_DIR/config.yml" "$CONF_DIR/htpasswd"
	printf '%s\n' "$STORAGE" "$LISTEN"
	docker image inspect -f '{{.Id}}' "$IMAGE"
} | sha256sum | cut -c1-32)
have=$(docker inspect -f '{{index .Config.Labels "keystone.config"}} {{.State.Running}}' \
	"$NAME" 2>/dev/null || true)
if [ "$have" = "$want true" ]; then
	echo "registry container running, configuration unchanged"
else
	if [ -n "$have" ]; then
		echo "replacing the registry container (configuration changed or not running)"
		docker rm -f "$NAME" >/dev/null
	fi
	docker run -d --name "$NAME" --restart unless-stopped --network host \
		--label "keystone.config=$want" \
		-v "$STORAGE:/var/lib/registry" -v "$CONF_DIR:/etc/keystone-registry:ro" \
		"$IMAGE" serve /etc/keystone-registry/config.yml >/dev/null ||
		fail "docker run $IMAGE failed"
	echo "registry container started"
fi
code=000
for _ in $(seq 1 150); do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$LISTEN/v2/" || true)
	if [ "$code" = 401 ]; then
		# Another registry on that address would answer as well: ours
		# must be the one listening (it exits when it cannot).
		if docker logs "$NAME" 2>&1 | grep -q 'listening on'; then
			echo "registry answers on $LISTEN and requires authentication"
			exit 0
		fi
		[ "$(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] || {
			docker logs --tail 5 "$NAME" 2>&1 || true
			fail "the registry container $NAME stopped (is $LISTEN taken by another registry?)"
		}
	fi
	[ "$code" = 200 ] && fail "the registry on $LISTEN answers without authentication"
	sleep 0.2
done
docker logs --tail 20 "$NAME" 2>&1 || true
fail "the registry did not answer on $LISTEN (HTTP $code)"
