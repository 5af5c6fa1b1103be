# Removal, on one server: the environment's Compose project stopped and
# removed (its containers; its volumes only when VOLUMES is 1), and its
# directory. Prints "KS_REPORT digest= state=removed".
# Set before this text: NODE ENV_UUID PROJECT DIR VOLUMES.
set -eu
fail() { printf '%s\n' "$*"; exit 1; }
if [ -f "$DIR/docker-compose.yml" ]; then
	if docker compose version >/dev/null 2>&1; then
		dc() { docker compose -p "$PROJECT" -f "$DIR/docker-compose.yml" "$@"; }
	elif command -v docker-compose >/dev/null; then
		dc() { docker-compose -p "$PROJECT" -f "$DIR/docker-compose.yml" "$@"; }
	else
		fail "neither docker compose nor docker-compose is installed on $NODE"
	fi
	if [ "$VOLUMES" = 1 ]; then
		dc down --remove-orphans --volumes 2>&1 || fail "docker compose down failed on $NODE"
	else
		dc down --remove-orphans 2>&1 || fail "docker compose down failed on $NODE"
	fi
fi
# Containers of the environment Compose did not know of (a lost file).
ids=$(docker ps -aq --filter "label=dev.keystone.environment=$ENV_UUID")
if [ -n "$ids" ]; then
	# shellcheck disable=SC2086 # ids: container ids
	docker rm -f $ids >/dev/null
fi
if [ "$VOLUMES" = 1 ]; then
	for v in $(docker volume ls -q --filter "name=^${PROJECT}_"); do
		docker volume rm "$v" >/dev/null
	done
	echo "removed the volumes of $PROJECT on $NODE"
fi
rm -rf -- "$DIR"
printf 'KS_REPORT digest= state=removed\n'
echo "removed $PROJECT from $NODE"
