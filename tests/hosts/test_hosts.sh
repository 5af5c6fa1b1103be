#!/usr/bin/env bash
# Tests the test hosts (tests/hosts/hostctl) for real: the machine's engine,
# a cold-or-cached `up 3` (two ready hosts, one fresh), SSH to each, a nested
# engine building and serving a FROM-scratch image on its host's own address,
# host keys, the registry image, then `down` and nothing left behind; then a
# warm `up 3` (with a management key given through KS_MGMT_PUBKEY) and `down`
# again.
#
# One line per check ("ok - ..." / "not ok - ..."), timing lines starting
# with "#", and last "N passed, M failed"; exits non-zero on any failure.
#
# Environment: KS_HOSTS_STATE (default: a new temp dir), KS_HOSTS_TEST_COLD=1
# removes the cached images first (a cold measurement; the .deb caches stay
# unless KS_HOSTS_TEST_COLD=2).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
HOSTCTL=$HERE/hostctl
if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
LABEL=keystone.test-host
WEB_PORT=18080

own_state=0
if [[ -z "${KS_HOSTS_STATE:-}" ]]; then
	KS_HOSTS_STATE=$(mktemp -d /tmp/ks-hosts-test.XXXXXX)
	own_state=1
fi
export KS_HOSTS_STATE
TMP=$(mktemp -d /tmp/ks-hosts-test-tmp.XXXXXX)

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}
nok() {
	failed=$((failed + 1))
	echo "not ok - $*"
}
diag() { echo "# $*"; }
# indent: its input as "#   " lines, the last 15.
indent() { tail -n 15 | while IFS= read -r l; do printf '#   %s\n' "$l"; done; }
# check DESC CMD...: ok when CMD succeeds (its output shown on failure).
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		nok "$desc"
		[[ -z "$out" ]] || indent <<<"$out"
	fi
}
hc() { "$HOSTCTL" "$@"; }
# hssh HOST CMD: ssh as the host's own user, stdin closed.
hssh() { hc ssh "$@" </dev/null; }

reg_name=
engine_used=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n "$reg_name" ]]; then
		"$DOCKER" rm -f -v "$reg_name" >/dev/null 2>&1 || true
	fi
	hc down >/dev/null 2>&1 || echo "# cleanup: hostctl down failed" >&2
	if ((engine_used)); then
		hc engine-down >/dev/null 2>&1 || true
	fi
	rm -rf -- "$TMP"
	if ((own_state)); then
		rmdir -- "$KS_HOSTS_STATE" 2>/dev/null || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Seconds since START (one decimal).
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ------------------------------------------------------------------ engine

for tool in "$DOCKER" dockerd debootstrap ssh ssh-keygen curl ss; do
	command -v "$tool" >/dev/null || {
		nok "tool $tool installed (bash deploy/deps.sh)"
		echo "$passed passed, $failed failed"
		exit 1
	}
done

if hc engine-up; then
	engine_used=1
	ok "engine-up: the machine's docker engine answers"
else
	nok "engine-up"
	echo "$passed passed, $failed failed"
	exit 1
fi
check "the machine's engine has no bridge network" \
	bash -c "! '$DOCKER' network ls --format '{{.Driver}}' | grep -qx bridge"

if [[ "${KS_HOSTS_TEST_COLD:-0}" != 0 ]]; then
	if [[ "$KS_HOSTS_TEST_COLD" == 2 ]]; then hc purge --cache; else hc purge; fi
fi

links_before=$(ip -o link | awk -F': ' '{ print $2 }' | sort)
# The hosts share the machine's network namespace: none of them may change
# its net.* settings (counters and caches left out).
net_sysctls() {
	sysctl -a 2>/dev/null | grep '^net\.' |
		grep -vE 'random|stat|hash|gc_|rt_cache|conntrack_count|nf_conntrack_buckets' | sort
}
sysctls_before=$(net_sysctls)

# ------------------------------------------------------------------ helpers

# all hosts' lines: NAME ADDR PORT USER KIND CONTAINER
declare -a H_NAME H_ADDR H_USER H_KIND H_CID
load_hosts() {
	H_NAME=() H_ADDR=() H_USER=() H_KIND=() H_CID=()
	local name addr port user kind cid
	while read -r name addr port user kind cid; do
		H_NAME+=("$name")
		H_ADDR+=("$addr")
		H_USER+=("$user")
		H_KIND+=("$kind")
		H_CID+=("$cid")
	done < <(hc list)
}

# up_timed LABEL KINDS: `up 3`, its time in UP_SECS, build times in UP_BUILT.
up_timed() {
	local t0 rc=0
	t0=$(now)
	hc up 3 --kind "$2" >"$TMP/up.out" 2>"$TMP/up.err" || rc=$?
	UP_SECS=$(since "$t0")
	UP_BUILT=$(sed -n 's/^hostctl: images built in \(.*\)$/\1/p' "$TMP/up.err")
	if ((rc == 0)); then
		ok "$1: up 3 --kind $2 (${UP_SECS}s)"
	else
		nok "$1: up 3 --kind $2 (exit $rc after ${UP_SECS}s)"
		indent <"$TMP/up.err"
		return 1
	fi
	load_hosts
	check "$1: list shows 3 hosts" test "${#H_NAME[@]}" -eq 3
}

# ss lines for listeners on ADDR (any port).
listeners_on() { ss -Hltn src "$1"; }

# down_checks LABEL: `down`, then nothing of the hosts is left.
down_checks() {
	local label=$1 id volroot cids=() i out pids
	id=$(cat -- "$KS_HOSTS_STATE/id")
	# shellcheck source=/dev/null
	volroot=$(. "$KS_HOSTS_STATE/env" && printf '%s' "$KS_HOSTS_VOLROOT")
	mapfile -t cids < <("$DOCKER" ps -aq --no-trunc --filter "label=$LABEL=$id")
	check "$label: down" hc down
	out=$("$DOCKER" ps -aq --filter "label=$LABEL=$id")
	check "$label: no containers labelled $LABEL=$id" test -z "$out"
	out=$(awk -v d="$volroot" 'index($2, d) == 1' /proc/mounts)
	check "$label: no mounts under $volroot" test -z "$out"
	check "$label: volume dirs removed" test ! -e "$volroot"
	check "$label: state dir removed" test ! -e "$KS_HOSTS_STATE"
	out=
	for ((i = 0; i < ${#H_ADDR[@]}; i++)); do
		out+=$(listeners_on "${H_ADDR[i]}")
	done
	check "$label: no listeners on the hosts' addresses" test -z "$out"
	pids=
	if ((${#cids[@]} > 0)); then
		local pat=()
		for i in "${cids[@]}"; do pat+=(-e "$i"); done
		pids=$(grep -lF "${pat[@]}" /proc/[0-9]*/cgroup 2>/dev/null || true)
	fi
	check "$label: no processes left in the hosts' cgroups" test -z "$pids"
	out=$(ip -o link | awk -F': ' '{ print $2 }' | sort)
	check "$label: no new network interfaces" test "$out" == "$links_before"
	check "$label: down again is a no-op" hc down
}

# ------------------------------------------------------------------ round 1

if up_timed "round 1" ready,ready,fresh; then
	first_secs=$UP_SECS
	first_built=${UP_BUILT:-none (images cached)}

	# Each host: its name, its user, sshd on its own address only.
	for ((i = 0; i < 3; i++)); do
		n=${H_NAME[i]} a=${H_ADDR[i]} u=${H_USER[i]} k=${H_KIND[i]}
		out=$(hssh "$n" 'hostname; id -un' 2>&1 | tr '\n' ' ' || true)
		check "$n ($k): ssh $u@$a runs hostname/id: $out" test "$out" == "$n $u "
		out=$(hc exec "$n" hostname 2>&1 || true)
		check "$n: hostctl exec hostname" test "$out" == "$n"
		out=$(ss -Hltn 'sport = :22' | awk '{ print $4 }' | grep -F -- "$a:22" || true)
		check "$n: sshd listens on $a:22" test "$out" == "$a:22"
	done
	out=$(ss -Hltn 'sport = :22' | awk '$4 !~ /^127\./ { print $4 }')
	check "no sshd on a wildcard address" test -z "$out"

	# Host keys: collected at up, all different, and enforced.
	fps=$(ssh-keygen -lf "$KS_HOSTS_STATE/ssh/known_hosts" | awk '{ print $2 }')
	check "known_hosts holds 9 host keys (3 types x 3 hosts)" test "$(wc -l <<<"$fps")" -eq 9
	check "every host key differs" test "$(sort -u <<<"$fps" | wc -l)" -eq 9
	check "ssh refuses a host whose key is another's (StrictHostKeyChecking)" \
		bash -c "! ssh -F '$KS_HOSTS_STATE/ssh/config' -o HostKeyAlias=${H_NAME[1]} \
			root@${H_ADDR[0]} true </dev/null"
	check "root logs in on a ready host with the harness key" \
		test "$(hssh "root@${H_NAME[0]}" id -u 2>&1)" == 0

	# Fresh host: what a new VPS has, nothing Keystone adds.
	f=${H_NAME[2]}
	check "$f (fresh): no docker" hssh "$f" '! command -v docker && ! command -v dockerd'
	check "$f (fresh): no keystone user" hssh "$f" '! id keystone'
	check "$f (fresh): curl, sudo, ip, ps, ca-certificates present" \
		hssh "$f" 'command -v curl && command -v sudo && command -v ip && command -v ps &&
			test -s /etc/ssl/certs/ca-certificates.crt'
	check "$f (fresh): package installs start no services (policy-rc.d)" \
		hssh "$f" 'test -x /usr/sbin/policy-rc.d'

	# Ready hosts: user keystone, a nested engine that builds and serves.
	for ((i = 0; i < 2; i++)); do
		n=${H_NAME[i]} a=${H_ADDR[i]}
		out=$(hssh "$n" 'id -nG' 2>&1 || true)
		check "$n (ready): keystone in groups docker and sudo ($out)" \
			bash -c "grep -qw docker <<<'$out' && grep -qw sudo <<<'$out'"
		check "$n (ready): sudo -n works for keystone" hssh "$n" 'sudo -n true'
		check "$n (ready): docker-compose, busybox (static)" \
			hssh "$n" 'docker-compose version --short && busybox true'
		out=$(hssh "$n" "docker info --format '{{.Driver}}'" 2>&1 || true)
		check "$n (ready): nested engine on overlay2 ($out)" test "$out" == overlay2
		check "$n (ready): nested engine has no bridge network" \
			hssh "$n" "! docker network ls --format '{{.Driver}}' | grep -qx bridge"
		# shellcheck disable=SC2016
		check "$n (ready): nested docker build FROM scratch with busybox" \
			hssh "$n" 'set -e
				d=$(mktemp -d)
				cp /bin/busybox "$d/busybox"
				hostname >"$d/index.html"
				printf "%s\n" "FROM scratch" "COPY busybox /bin/busybox" \
					"RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]" \
					"COPY index.html /www/index.html" >"$d/Dockerfile"
				docker build -q --network host -t "ks-web:$(hostname)" "$d"
				rm -rf "$d"'
		check "$n (ready): runs it with --network host on $a:$WEB_PORT" \
			hssh "$n" "docker run -d --name ks-web --network host ks-web:$n \
				httpd -f -p $a:$WEB_PORT -h /www"
	done
	for ((i = 0; i < 2; i++)); do
		n=${H_NAME[i]} a=${H_ADDR[i]}
		out=
		for ((t = 0; t < 50; t++)); do
			out=$(curl -sf --max-time 2 "http://$a:$WEB_PORT/index.html" 2>/dev/null) && break
			sleep 0.1
		done
		check "control node fetches http://$a:$WEB_PORT/ from $n: '$out'" test "$out" == "$n"
		out=$(ss -Hltn "sport = :$WEB_PORT" | awk '{ print $4 }' | grep -vF -- "$a:$WEB_PORT" |
			grep -vE '^127\.0\.0\.([0-9]+):' || true)
		check "$n: the web container binds no wildcard address" test -z "$out"
	done
	check "image built on ${H_NAME[0]} is absent on ${H_NAME[1]}" \
		hssh "${H_NAME[1]}" "! docker image inspect ks-web:${H_NAME[0]} >/dev/null 2>&1"
	check "image built on ${H_NAME[1]} is absent on ${H_NAME[0]}" \
		hssh "${H_NAME[0]}" "! docker image inspect ks-web:${H_NAME[1]} >/dev/null 2>&1"
	# The docker CLI over SSH, as Keystone's generated scripts may use it.
	check "DOCKER_HOST=ssh://keystone@${H_NAME[0]} through the state's ssh wrapper" \
		env PATH="$KS_HOSTS_STATE/bin:$PATH" DOCKER_HOST="ssh://keystone@${H_NAME[0]}" \
		"$DOCKER" image inspect "ks-web:${H_NAME[0]}" </dev/null

	# The registry image, on a loopback port of its own.
	if out=$(hc registry-image 2>&1); then
		ok "registry-image: $out"
		port=
		for ((p = 15000; p < 15100; p++)); do
			if [[ -z "$(ss -Hltn "sport = :$p")" ]]; then
				port=$p
				break
			fi
		done
		reg_name=ks-test-registry-$$
		if "$DOCKER" run -d --rm --name "$reg_name" --network host \
			-e "REGISTRY_HTTP_ADDR=127.0.0.1:$port" registry:2 >/dev/null; then
			out=
			for ((t = 0; t < 100; t++)); do
				out=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
					"http://127.0.0.1:$port/v2/" 2>/dev/null) && [[ "$out" == 200 ]] && break
				sleep 0.1
			done
			check "registry:2 answers GET /v2/ on 127.0.0.1:$port (HTTP $out)" test "$out" == 200
			out=$(ss -Hltn "sport = :$port" | awk '{ print $4 }')
			check "registry listens on 127.0.0.1:$port only ($out)" test "$out" == "127.0.0.1:$port"
		else
			nok "registry:2 starts"
		fi
		"$DOCKER" rm -f -v "$reg_name" >/dev/null 2>&1 || true
		reg_name=
	else
		nok "registry-image"
		indent <<<"$out"
	fi

	down_checks "round 1"
else
	first_secs=failed
	first_built=
	hc down || true
fi

# ------------------------------------------------------------------ round 2
# Warm: every image cached. Keystone's own management key comes in through
# KS_MGMT_PUBKEY (and KS_MGMT_KEY for the harness's ssh).

ssh-keygen -q -t ed25519 -N '' -C ks-test-given-mgmt -f "$TMP/mgmt"
if KS_MGMT_PUBKEY=$(cat "$TMP/mgmt.pub") KS_MGMT_KEY=$TMP/mgmt \
	up_timed "round 2 (warm)" ready,ready,fresh; then
	warm_secs=$UP_SECS
	for ((i = 0; i < 3; i++)); do
		n=${H_NAME[i]} u=${H_USER[i]}
		out=$(KS_MGMT_KEY=$TMP/mgmt hssh "$n" 'hostname' 2>&1 || true)
		check "round 2: ssh $u@$n: $out" test "$out" == "$n"
	done
	out=$(hc exec "${H_NAME[0]}" cat /home/keystone/.ssh/authorized_keys 2>&1 || true)
	check "round 2: keystone's authorized_keys holds KS_MGMT_PUBKEY" \
		test "$out" == "$(cat "$TMP/mgmt.pub")"
	down_checks "round 2"
else
	warm_secs=failed
	hc down || true
fi

check "the machine's net.* sysctls are unchanged" test "$(net_sysctls)" == "$sysctls_before"

diag "timing: first up 3 (2 ready + 1 fresh): ${first_secs}s; image builds: $first_built"
diag "timing: warm up 3 (2 ready + 1 fresh): ${warm_secs}s"
echo "$passed passed, $failed failed"
((failed == 0))
