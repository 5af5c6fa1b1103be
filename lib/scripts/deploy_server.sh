# Deploy, on one runtime server, after the Docker sign-in (auth_login.sh,
# in front of this text): the artifact pulled by digest, the Compose
# project written and started, the health gate, and what ran before put
# back when the new one is not healthy; then the environment's older
# images pruned. Prints "KS_REPORT digest=... state=running|failed".
# Set before this text (the first four when the operation runs): IMAGE
# (REGISTRY/keystone/APP/ENV@sha256:...) REG_HOST ARCH REG_USER_EXTERNAL,
# NODE ENV_UUID PROJECT DIR COMPOSE (its image "__KS_IMAGE__") GATES
# ("SERVICE KIND HOST PORT INTERVAL TIMEOUT PATH" lines) SECRETS ("VAR
# SERVICE NAME" lines: the step's secret VAR is NAME of SERVICE) KEEP CFG.
set -eu
fail() { printf '%s\n' "$*"; exit 1; }
case $IMAGE in
"" | *[!a-z0-9._:/@-]*) fail "internal error: the image reference $IMAGE" ;;
esac
last() { printf '%s\n' "$1" | grep . | tail -n 3 | tr '\n' ' '; }

# The artifact's architecture against this server's.
if [ -n "$ARCH" ]; then
	here=$(dpkg --print-architecture 2>/dev/null || uname -m)
	case $here in x86_64) here=amd64 ;; aarch64) here=arm64 ;; esac
	[ "$here" = "$ARCH" ] || fail "the artifact is built for $ARCH but $NODE is $here"
fi

# A credential the registry no longer accepts (the sign-in above did not
# run: the server already held it) is named as such, not as a missing image.
if ! out=$(docker --config "$CFG" pull -q "$IMAGE" 2>&1); then
	case $out in
	*unauthorized* | *"authentication required"* | *"no basic auth credentials"* | *denied*)
		fail "docker pull $IMAGE on $NODE: the registry $REG_HOST refused the credential $NODE signs in with ($REG_USER): $(last "$out")" ;;
	esac
	fail "docker pull $IMAGE failed on $NODE: $(last "$out")"
fi
echo "pulled $IMAGE"

# Compose: the plugin when the host has it, else docker-compose. The
# plugin's file is looked for where the CLI looks (its configuration's
# cli-plugins, then the system directories) before anything runs:
# `docker compose version` costs a start of the CLI and of the plugin
# (20-30 ms), so it is asked only when neither a plugin file nor
# docker-compose is found (a plugin in a directory of the configuration's
# cliPluginsExtraDirs). The name Compose gives a service's container
# (PROJECT_SERVICE_1 for docker-compose, PROJECT-SERVICE-1 for the plugin)
# is joined with SEP.
plugin=
for d in "$CFG/cli-plugins" "${HOME:-/nonexistent}/.docker/cli-plugins" \
    /usr/local/lib/docker/cli-plugins /usr/local/libexec/docker/cli-plugins \
    /usr/lib/docker/cli-plugins /usr/libexec/docker/cli-plugins; do
	if [ -f "$d/docker-compose" ] && [ -x "$d/docker-compose" ]; then
		plugin=1
		break
	fi
done
if [ -z "$plugin" ] && ! command -v docker-compose >/dev/null &&
    docker --config "$CFG" compose version >/dev/null 2>&1; then
	plugin=1
fi
if [ -n "$plugin" ]; then
	SEP=-
	dc() { docker --config "$CFG" compose -p "$PROJECT" -f "$DIR/docker-compose.yml" "$@"; }
elif command -v docker-compose >/dev/null; then
	SEP=_
	dc() { DOCKER_CONFIG=$CFG docker-compose -p "$PROJECT" -f "$DIR/docker-compose.yml" "$@"; }
else
	fail "neither docker compose nor docker-compose is installed on $NODE"
fi

umask 077
mkdir -p -- "$DIR"
prev=
if [ -f "$DIR/docker-compose.yml" ]; then
	prev=$(sed -n 's/^    image: "\(.*\)"$/\1/p' "$DIR/docker-compose.yml" | head -n 1)
	cp -- "$DIR/docker-compose.yml" "$DIR/docker-compose.prev.yml"
fi
# The secret variables: one env file per service, 0600 (umask), written
# by the shell's own printf (no argument holds a value).
rm -f -- "$DIR"/secrets-*.env.new
while read -r var svc name; do
	[ -n "$var" ] || continue
	printf '%s=%s\n' "$name" "${!var}" >>"$DIR/secrets-$svc.env.new"
done <<EOF_SECRETS
$SECRETS
EOF_SECRETS
for f in "$DIR"/secrets-*.env.new; do
	[ ! -e "$f" ] || mv -f -- "$f" "${f%.new}"
done
printf '%s' "$COMPOSE" | sed "s|__KS_IMAGE__|$IMAGE|g" >"$DIR/docker-compose.yml"

# The health gate: every service's container runs IMAGE and is healthy
# within its timeout. Sets reason (and svc, cid) when not.
want_id=$(docker image inspect -f '{{.Id}}' "$IMAGE")
reason= cid= svc=
# One docker call per look at a container: its Compose labels, the image
# it was made from (reference and id), its state and its health check's.
FMT='{{index .Config.Labels "com.docker.compose.project"}}|{{index .Config.Labels "com.docker.compose.service"}}|{{.Config.Image}} {{.Image}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}'
# look: reads svc's container (cid) into lproj lsvc img state health;
# fails when docker cannot inspect it.
look() {
	local out
	out=$(docker inspect --type container -f "$FMT" "$cid" 2>/dev/null) || return 1
	IFS='|' read -r lproj lsvc img state health <<EOF_LOOK
$out
EOF_LOOK
}
gate() {
	local kind host port interval timeout path end url lproj lsvc img state health
	while read -r svc kind host port interval timeout path; do
		[ -n "$svc" ] || continue
		# The service's container: by the name Compose gives it, checked
		# by its labels in the same call; else by the labels alone (one
		# docker call, not a second Compose).
		cid=$PROJECT$SEP$svc${SEP}1
		if ! look || [ "$lproj|$lsvc" != "$PROJECT|$svc" ]; then
			cid=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
				--filter "label=com.docker.compose.service=$svc" | head -n 1)
			[ -n "$cid" ] || { reason="service $svc has no container"; return 1; }
			look || { reason="service $svc: its container $cid is gone"; return 1; }
		fi
		case $host in *:*) url="http://[$host]:$port$path" ;; *) url="http://$host:$port$path" ;; esac
		end=$((SECONDS + timeout))
		while :; do
			# (On every look: the container runs exactly IMAGE.)
			[ "$img" = "$IMAGE $want_id" ] ||
				{ reason="service $svc runs $img, not $IMAGE"; return 1; }
			case $kind in
			# (-g: the path's [ ] { } are no curl globs)
			http) curl -gfsS -o /dev/null --max-time "$interval" -- "$url" 2>/dev/null && break ;;
			command) [ "$health" = healthy ] && break ;;
			*) [ "$state" = running ] && break ;;
			esac
			if [ "$SECONDS" -ge "$end" ]; then
				case $kind in
				http) reason="service $svc did not answer $url with 2xx within ${timeout}s (container $state)" ;;
				command) reason="service $svc's health command did not pass within ${timeout}s (container $state)" ;;
				*) reason="service $svc is not running after ${timeout}s (container $state)" ;;
				esac
				return 1
			fi
			sleep "$interval"
			look || { reason="service $svc: its container $cid is gone"; return 1; }
		done
		echo "service $svc runs $IMAGE and is healthy"
	done <<EOF_GATES
$GATES
EOF_GATES
}

# The environment's images on this server beyond the KEEP newest (the one
# running kept): what rollback can still need stays.
prune() {
	local ids old n=0
	ids=$(docker image ls -q --no-trunc --filter "label=dev.keystone.environment=$ENV_UUID" | sort -u)
	[ -n "$ids" ] || return 0
	# Fewer than KEEP besides the running one: none to remove, and no
	# `docker image inspect` to learn their ages.
	for id in $ids; do
		[ "$id" = "$want_id" ] || n=$((n + 1))
	done
	[ "$n" -ge "$KEEP" ] || return 0
	n=0
	# shellcheck disable=SC2086 # ids: image ids, words without blanks
	old=$(docker image inspect --format '{{.Created}} {{.Id}}' $ids | sort -r |
		awk -v keep="$KEEP" -v cur="$want_id" '$2 != cur { n++; if (n >= keep) print $2 }')
	for id in $old; do
		if docker rmi "$id" >/dev/null 2>&1; then n=$((n + 1)); fi
	done
	[ "$n" = 0 ] || echo "pruned $n older image(s) of this environment on $NODE"
}

ok=0
if upout=$(dc up -d --remove-orphans 2>&1); then
	printf '%s\n' "$upout"
	if gate; then ok=1; fi
else
	printf '%s\n' "$upout"
	reason="docker compose up failed on $NODE: $(last "$upout")"
fi
if [ "$ok" = 1 ]; then
	prune
	printf 'KS_REPORT digest=%s state=running\n' "${IMAGE#*@}"
	echo "$NODE runs $IMAGE"
	exit 0
fi

# Not healthy: the container's last log lines, then what ran before put
# back and left running.
if [ -n "$cid" ]; then
	echo "last log lines of $svc:"
	docker logs --tail 20 "$cid" 2>&1 | sed 's/^/  /' || true
fi
if [ -n "$prev" ] && [ -f "$DIR/docker-compose.prev.yml" ]; then
	cp -- "$DIR/docker-compose.prev.yml" "$DIR/docker-compose.yml"
	if dc up -d --remove-orphans >/dev/null 2>&1; then
		back="put back $prev"
		printf 'KS_REPORT digest=%s state=failed\n' "${prev#*@}"
	else
		back="putting back $prev failed too"
		printf 'KS_REPORT digest= state=failed\n'
	fi
else
	back="nothing ran here before to put back"
	printf 'KS_REPORT digest= state=failed\n'
fi
fail "$reason; $back"
