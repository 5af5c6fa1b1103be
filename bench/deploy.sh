#!/usr/bin/env bash
# bench/deploy.sh (as root, after `make all`): what a Keystone deploy costs,
# on five ready test hosts (tests/hosts/hostctl), in one run:
#
#   1. a throwaway stack (deploy/stack.sh, RELEASE build in build/) with the
#      managed registry (as bench/build.sh: its name registry.ks.bench in
#      the machine's /etc/hosts while the bench runs, its own registry
#      container on a free loopback port), five ready test hosts as runtime
#      servers (servers rows with their ed25519 host keys pinned, ssh_user
#      keystone; the registry's name in each host's /etc/hosts and its
#      engine restarted, as tests/tu_build.c's tb_hosts_resolve), then
#      `keystonectl registry setup` and `registry provision` (signs every
#      host in); the spooler runs with the hosts' management key;
#   2. a Git repository of a FROM-scratch application (the machine's static
#      busybox: httpd on $HOST:$PORT serving /version) with two commits, v1
#      and v2, each built once by Keystone (`keystonectl build --commit`):
#      two artifacts of one environment, whose one service `web` listens on
#      a free port on every host's own address, health check GET /version
#      every BENCH_HEALTH_INTERVAL s;
#   3. warm-up: v1 then v2 deployed to the five hosts (pulls, sign-ins),
#      two bare deploys to the first host (a new connection, then through
#      the ControlMaster);
#   4. BENCH_RUNS rounds (default 5), each deploy a real switch (v1 <-> v2):
#      a. Keystone, the five hosts: deploy_plan() of the other artifact
#         ("Deploy this version": bench/deploy_plan), timed from the
#         operation's created_at to its finished_at (PostgreSQL), with the
#         machine's CPU time over it (/proc/stat);
#      b. Keystone, the first host only (the environment's servers set to
#         that one before queuing): the same, timed the same way;
#      c. the bare script: over a NEW `ssh` connection (OpenSSH, no
#         ControlMaster: TCP, key exchange and authentication timed, as
#         the spooler opens its SSH connection per operation) one `bash -s`
#         on the first host running `docker pull REF@DIGEST`, writing the
#         same Compose file (the one Keystone wrote there, with the other
#         digest) in the same project directory, `docker-compose -p
#         PROJECT up -d --remove-orphans` and the same curl health loop
#         (interval and timeout of the service), timed with
#         $EPOCHREALTIME (the same CLOCK_REALTIME);
#      d. the same bare script through an OpenSSH ControlMaster made
#         before the rounds and not timed (no connection set-up);
#      b, c and d in turn, the first of them rotating from round to round,
#      then one more bare switch of the first host (not timed) so that
#      every host runs the same version again.
#      During each of a..d a probe curls http://HOST1:PORT/version every
#      50 ms (bounded count) and the longest run of failures is the gap.
#   5. teardown, also after a failure or an interrupt (trap): the
#      ControlMaster, the probe, the stack, the hosts (hostctl down), the
#      registry container, the /etc/hosts line, the certs.d entry, the
#      images under the bench registry's name or with the bench
#      environment's label, the temp directories and port reservations,
#      hostctl engine-down.
#
# Figures (medians of the rounds, seconds). The table comes first; the LAST
# line of stdout is exactly:
#   ratio_fanout= fanout5_s= fanout1_s= cpu5_s= cpu1_s= hosts_cpu5_s=
#   hosts_cpu1_s= health_interval_s= ratio_deploy= keystone_s= bare_s= ratio_deploy_paired=
#   ratio_deploy_cm= bare_cm_s= gap_s= bare_gap_s= fanout_gap_s= runs= hosts=
# ratio_fanout = fanout5_s / fanout1_s (target at most 1.5);
# keystone_s = fanout1_s (the same deploys); ratio_deploy = keystone_s /
# bare_s (target at most 1.10), bare_s with a new SSH connection per
# deploy (c); ratio_deploy_paired: the median of each round's own ratio;
# ratio_deploy_cm = keystone_s / bare_cm_s, bare_cm_s through the
# ControlMaster (d); cpu5_s, cpu1_s: CPU seconds the whole machine used
# over a five-host and a one-host deploy (busy jiffies of /proc/stat: the
# machine is shared, other jobs count too); hosts_cpu5_s, hosts_cpu1_s:
# the CPU seconds of the five test hosts' containers over the same spans
# (cgroup v1 cpuacct: their sshd, dockerd, Compose, scripts); gap_s: the longest time the
# application on the first host did not answer during a Keystone one-host
# deploy (first failed probe .. first answered one; 50 ms resolution),
# bare_gap_s during a bare deploy (c), fanout_gap_s during a five-host
# deploy.
#
# Knobs (environment): BENCH_RUNS (1..50, default 5), BENCH_PORT (first
# port tried, default 19443), BENCH_TIMEOUT (seconds an operation may take,
# default 600), BENCH_HEALTH_INTERVAL (the service's health interval,
# 1..300 s, default 1), BENCH_KEEP=1 keeps the temp dir (logs, the probes'
# samples). Loopback only: PostgreSQL on a unix socket, Caddy and
# registry:2 on 127.0.0.1, the hosts on 127.0.0.N.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"
# shellcheck source=deploy/stack.sh
. "$REPO/deploy/stack.sh"
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"

BUILD=$REPO/build
HOSTCTL=$REPO/tests/hosts/hostctl
PORT0=${BENCH_PORT:-19443}
TIMEOUT=${BENCH_TIMEOUT:-600}
RUNS=${BENCH_RUNS:-5}
INTERVAL=${BENCH_HEALTH_INTERVAL:-1}
HEALTH_TIMEOUT=60
NHOSTS=5
REG_NAME=registry.ks.bench
HOSTS_MARK="# keystone-bench-deploy $$"
# The probe: one curl every PROBE_MS, at most PROBE_MAX of them a deploy.
PROBE_MS=50
PROBE_MAX=12000

[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 && "$RUNS" -le 50 ]] ||
	die "BENCH_RUNS must be an integer in 1..50"
[[ "$TIMEOUT" =~ ^[0-9]+$ && "$TIMEOUT" -ge 10 && "$TIMEOUT" -le 3600 ]] ||
	die "BENCH_TIMEOUT must be an integer in 10..3600"
[[ "$INTERVAL" =~ ^[0-9]+$ && "$INTERVAL" -ge 1 && "$INTERVAL" -le 300 ]] ||
	die "BENCH_HEALTH_INTERVAL must be an integer in 1..300"
[[ "$(id -u)" -eq 0 ]] || die "must run as root (the stack, Docker, /etc/hosts, test hosts)"
for c in psql caddy curl docker git awk ss setsid timeout ssh ssh-keygen flock; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found (run deploy/deps.sh)"
done
[[ -x "$BUILD/keystone.fcgi" && -x "$BUILD/keystonectl" && -x "$BUILD/keystone-spooler" &&
	-x "$BUILD/bench/deploy_plan" ]] ||
	die "a program in $BUILD is missing (run make all)"
[[ -x /bin/busybox ]] || die "/bin/busybox missing (busybox-static)"
[[ -f "$HOSTCTL" ]] || die "$HOSTCTL missing"

# cpu_busy: the machine's busy jiffies so far (user nice system irq
# softirq steal of /proc/stat's cpu line; guest time is inside user).
cpu_busy() {
	local _c u n s _i _w q sq st
	read -r _c u n s _i _w q sq st _ </proc/stat
	printf '%s\n' $((u + n + s + q + sq + st))
}
HZ=$(getconf CLK_TCK)
# hosts_cpu_ns: CPU ns the test hosts' containers used so far (0 without
# cgroup v1's cpuacct).
hosts_cpu_ns() {
	local f t=0 v
	for f in "${H_CG[@]}"; do
		[[ -r "$f" ]] || { echo 0; return 0; }
		v=$(<"$f")
		t=$((t + v))
	done
	printf '%s\n' "$t"
}

# ------------------------------------------------------------- cleanup

DIR=$(mktemp -d /tmp/ks-bdeploy.XXXXXX)
HSTATE=$(mktemp -d /tmp/ks-hosts-bdeploy.XXXXXX)
GITDIR=
REG_HOST=
ENV_UUID=
stack_is_up=0
hosts_are_up=0
engine_is_ours=0
cm_is_up=0
PROBE_PID=
CM_SOCK=$DIR/cm.sock
SSH_BASE=()
SSH_DEST=
export KS_STACK_REGISTRY_CONTAINER=keystone-registry-bdeploy-$$

hostctl() {
	KS_HOSTS_STATE=$HSTATE bash "$HOSTCTL" "$@"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n "$PROBE_PID" ]]; then
		kill "$PROBE_PID" 2>/dev/null || true
		wait "$PROBE_PID" 2>/dev/null || true
		PROBE_PID=
	fi
	if ((cm_is_up)); then
		cm_is_up=0
		ssh "${SSH_BASE[@]}" -O exit "$SSH_DEST" >/dev/null 2>&1 || true
	fi
	if ((stack_is_up)); then
		stack_is_up=0
		stack_down "$DIR" || echo "bench: stack_down reported an error" >&2
	fi
	if ((hosts_are_up)); then
		hosts_are_up=0
		hostctl down >>"$DIR/log/hostctl.log" 2>&1 ||
			echo "bench: hostctl down reported an error (see $DIR/log/hostctl.log)" >&2
	fi
	stack_hosts_drop "$HOSTS_MARK" || true
	if docker info >/dev/null 2>&1; then
		docker rm -f -v "$KS_STACK_REGISTRY_CONTAINER" >/dev/null 2>&1 || true
		if [[ -n "$REG_HOST" ]]; then
			docker image ls --format '{{.Repository}}:{{.Tag}}' |
				grep -F -- "$REG_HOST/" | xargs -r docker rmi >/dev/null 2>&1 || true
		fi
		if [[ -n "$ENV_UUID" ]]; then
			docker image ls -q --filter "label=dev.keystone.environment=$ENV_UUID" |
				sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
		fi
	fi
	[[ -z "$REG_HOST" ]] || rm -rf -- "/etc/docker/certs.d/$REG_HOST"
	if ((engine_is_ours)); then
		engine_is_ours=0
		hostctl engine-down >>"$DIR/log/hostctl.log" 2>&1 || true
	fi
	[[ -z "$GITDIR" ]] || rm -rf -- "$GITDIR"
	rm -rf -- "$HSTATE"
	stack_release_ports
	if [[ -n "${DIR:-}" && -d "$DIR" ]]; then
		if [[ "${BENCH_KEEP:-}" == 1 ]]; then
			echo "bench: kept $DIR" >&2
		else
			rm -rf -- "$DIR"
		fi
	fi
	DIR=
	return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------- engine, hosts, stack

mkdir -p -- "$DIR/static" "$DIR/log"
PORT=$(stack_free_port "$PORT0")
REG_LISTEN_PORT=$(stack_free_port 15600)
APP_PORT=$(stack_free_port 19643)
REG_HOST=$REG_NAME:$PORT
export KS_STACK_REGISTRY_HOST=$REG_HOST
export KS_STACK_REGISTRY_LISTEN=127.0.0.1:$REG_LISTEN_PORT

# The registry's name first: dockerd re-reads /etc/hosts only when its
# copy is over 5 s old (see bench/build.sh); HOSTS_AT is waited on below.
printf '127.0.0.1 %s %s\n' "$REG_NAME" "$HOSTS_MARK" >>/etc/hosts
HOSTS_AT=$EPOCHSECONDS

echo "=== engine, registry image, $NHOSTS ready test hosts (KS_HOSTS_STATE=$HSTATE)"
engine_is_ours=1
hostctl engine-up >>"$DIR/log/hostctl.log" 2>&1 ||
	die "hostctl engine-up failed (see $DIR/log/hostctl.log)"
hostctl registry-image >>"$DIR/log/hostctl.log" 2>&1 ||
	die "hostctl registry-image failed (see $DIR/log/hostctl.log)"
hosts_are_up=1
KS_HOSTS_STATE=$HSTATE timeout -k 10 600 bash "$HOSTCTL" up "$NHOSTS" --kind ready \
	</dev/null >>"$DIR/log/hostctl.log" 2>&1 ||
	die "hostctl up failed (see $DIR/log/hostctl.log)"
H_NAME=()
H_ADDR=()
H_PORT=()
while read -r n a p u k _; do
	[[ "$k" == ready && "$u" == keystone && "$a" =~ ^127\.[0-9.]+$ ]] || continue
	H_NAME+=("$n")
	H_ADDR+=("$a")
	H_PORT+=("$p")
done < <(hostctl list)
((${#H_NAME[@]} == NHOSTS)) || die "expected $NHOSTS ready hosts, got: $(hostctl list)"
# The hosts' containers' cgroups (cgroup v1 cpuacct): the CPU their
# sshd, dockerd, containerd, Compose and step scripts use.
H_CG=()
while read -r _ _ _ _ _ c; do
	c=$(docker inspect -f '{{.Id}}' "$c") || die "cannot inspect host container $c"
	H_CG+=("/sys/fs/cgroup/cpuacct/docker/$c/cpuacct.usage")
done < <(hostctl list)
MGMT_KEY=$(hostctl keys mgmt)
[[ -r "$MGMT_KEY" ]] || die "management key $MGMT_KEY not readable"
KNOWN=$HSTATE/ssh/known_hosts
echo "    hosts: ${H_NAME[*]} (${H_ADDR[*]})"

echo "=== stack: $DIR, https://localhost:$PORT (release build), registry $REG_HOST"
stack_is_up=1
stack_up "$DIR" "$PORT" "$BUILD" "$DIR/static" || die "could not bring up the stack"
PGCONN=$(stack_pg_conninfo "$DIR")
CONF=$DIR/keystone.conf
SPOOL_LOG=$DIR/log/spooler.log
CTL=("$BUILD/keystonectl" -c "$CONF")

# The spooler again: file:// sources allowed (the repository below), the
# hosts' management key, and no scheduled registry check (a check
# operation landing inside a timed deploy would be noise; the gate reads
# the provisioning's matrix).
printf '%s\n' '# bench/deploy.sh: the repository is a local file:// one' \
	'allow_local_sources = 1' >>"$CONF"
export KEYSTONE_SSH_KEY_FILE=$MGMT_KEY
export KEYSTONE_REGISTRY_CHECK_MINUTES=0
stack_spooler_stop "$DIR" || die "could not stop the stack's spooler"
stack_spooler_start "$DIR" "$BUILD" || die "could not start the stack's spooler"

# The servers, their ed25519 host keys pinned (from the harness's
# known_hosts, read from each host at `up`).
SRV_ID=()
for ((i = 0; i < NHOSTS; i++)); do
	key=$(awk -v h="${H_NAME[i]},${H_ADDR[i]}" '$1 == h && $2 == "ssh-ed25519" {
		print $2 " " $3; exit }' "$KNOWN")
	[[ "$key" =~ ^ssh-ed25519\ [A-Za-z0-9+/=]+$ ]] ||
		die "no ed25519 key for ${H_NAME[i]} in $KNOWN"
	fp=$(printf '%s\n' "$key" | ssh-keygen -l -E sha256 -f - | awk '{ print $2 }')
	id=$(kpsql -v name="bench-${H_NAME[i]}" -v addr="${H_ADDR[i]}" -v port="${H_PORT[i]}" \
		-v key="$key" -v fp="$fp" <<'EOF'
INSERT INTO servers (name, address, ssh_port, ssh_user, role_build, role_runtime,
	status, host_key, host_key_sha256, host_key_pinned_at)
VALUES (:'name', :'addr', :'port'::int, 'keystone', false, true,
	'active', :'key', :'fp', now())
RETURNING id;
EOF
)
	[[ "$id" =~ ^[0-9]+$ ]] || die "could not insert the server row of ${H_NAME[i]}"
	SRV_ID+=("$id")
done

# The registry's name on each host, and its engine restarted so that it
# reads it (tests/tu_build.c's tb_hosts_resolve, th_engine_restart).
host_resolve() {
	hostctl exec -i "$1" bash -s <<EOF
set -e
grep -q ' $REG_NAME\$' /etc/hosts || echo '127.0.0.1 $REG_NAME' >>/etc/hosts
pid=\$(cat /var/run/docker.pid 2>/dev/null || true)
alive() { [ -n "\$pid" ] && [ -e "/proc/\$pid" ] &&
	! grep -q '^State:[[:space:]]*Z' "/proc/\$pid/status" 2>/dev/null; }
if alive; then kill -TERM "\$pid"; fi
i=0; while alive && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
if alive; then
	echo "dockerd \$pid did not stop within 30 s:"; ps -eo pid,ppid,stat,etime,args
	tail -n 20 /var/log/dockerd.log; exit 1
fi
setsid dockerd --bridge=none --iptables=false --ip-forward=false \
	</dev/null >>/var/log/dockerd.log 2>&1 &
i=0; until docker info >/dev/null 2>&1; do
	i=\$((i + 1))
	if [ \$i -ge 600 ]; then
		echo 'dockerd did not come back within 60 s:'; tail -n 20 /var/log/dockerd.log
		exit 1
	fi
	sleep 0.1
done
EOF
}
for ((i = 0; i < NHOSTS; i++)); do
	host_resolve "${H_NAME[i]}" >"$DIR/log/resolve-${H_NAME[i]}.log" 2>&1 ||
		die "${H_NAME[i]}: $(cat -- "$DIR/log/resolve-${H_NAME[i]}.log")"
done

echo "=== registry: setup and provisioning (the $NHOSTS hosts signed in)"
bench_registry_ready
echo "=== registry: ready"

# ------------------------------------- repository, app, env, artifacts

# The application (as tests/check_deploy.c's): the machine's static
# busybox, httpd on $HOST:$PORT serving /www (its version file). It stops
# on SIGTERM as a service should: a PID 1 without a handler ignores it, and
# every switch would then wait Docker's 10 s stop timeout (seen: ~11 s for
# either side), which hides what Keystone itself costs.
GITDIR=$(mktemp -d /var/tmp/ks-bdeploy-git.XXXXXX)
shas=$(
	set -e
	cd "$GITDIR"
	mkdir -p w/www
	cd w
	git init -q -b main .
	cp /bin/busybox busybox
	cat >Dockerfile <<'EOF'
FROM scratch
COPY busybox /bin/busybox
COPY www /www
CMD ["/bin/busybox", "sh", "-c", "trap 'exit 0' TERM; /bin/busybox httpd -f -p \"$HOST:$PORT\" -h /www & wait"]
EOF
	c() { git -c user.name=bench -c user.email=bench@example.test commit -qm "$1"; }
	echo 1 >www/version
	git add -A
	c v1
	echo 2 >www/version
	git add -A
	c v2
	git clone -q --bare . ../app.git
	git rev-parse main~1 main
	chmod -R a+rX "$GITDIR"
	chown -R keystone: "$GITDIR"
) || die "could not make the repository"
read -r C_V1 C_V2 <<<"$(printf '%s' "$shas" | tr '\n' ' ')"
[[ "$C_V1" =~ ^[0-9a-f]{40}$ && "$C_V2" =~ ^[0-9a-f]{40}$ ]] ||
	die "cannot read the commits from: $shas"
URL=file://$GITDIR/app.git
APP=bench-deploy-$$
ENV_UUID=$(kpsql -v name="$APP" -v url="$URL" <<'EOF'
WITH a AS (
	INSERT INTO applications (name, repository_url, default_branch)
	VALUES (:'name', :'url', 'main') RETURNING id)
INSERT INTO environments (application_id, name, retention_count)
SELECT a.id, 'production', 5 FROM a RETURNING uuid;
EOF
)
[[ "$ENV_UUID" =~ ^[0-9a-f-]{36}$ ]] || die "could not add the application and environment"
ENV_ID=$(kpsql -v u="$ENV_UUID" <<<"SELECT id FROM environments WHERE uuid = :'u'")
kpsql -v env="$ENV_ID" -v port="$APP_PORT" -v iv="$INTERVAL" -v to="$HEALTH_TIMEOUT" <<'EOF' ||
INSERT INTO services (environment_id, name, port, health_kind, health_path,
	health_interval_s, health_timeout_s)
VALUES (:'env'::bigint, 'web', :'port'::int, 'http', '/version', :'iv'::int, :'to'::int);
EOF
	die "could not add the service"
# env_servers N: the environment's runtime servers are the first N hosts.
env_servers() {
	local ids
	ids=$(IFS=,; printf '%s' "${SRV_ID[*]:0:$1}")
	kpsql -c "BEGIN; DELETE FROM environment_servers WHERE environment_id = $ENV_ID;
		INSERT INTO environment_servers SELECT $ENV_ID, unnest('{$ids}'::bigint[]);
		COMMIT;" >/dev/null || die "could not set the environment's servers"
}
env_servers "$NHOSTS"
echo "=== application $APP, environment production ($ENV_UUID), port $APP_PORT," \
	"health every ${INTERVAL}s"

# build COMMIT: one Keystone build of COMMIT; prints its artifact's uuid.
build() {
	local uuid id st art
	uuid=$("${CTL[@]}" build "$APP" production --commit "$1") ||
		die "keystonectl build refused or failed"
	id=$(kpsql -v u="$uuid" <<<"SELECT id FROM operations WHERE uuid = :'u'")
	st=$(op_wait "$id")
	if [[ "$st" != succeeded ]]; then
		op_report "$id"
		die "build $id: $st (see $SPOOL_LOG)"
	fi
	art=$(kpsql -c "SELECT a.uuid FROM operations o JOIN build_artifacts a
		ON a.id = o.artifact_id WHERE o.id = $id")
	[[ "$art" =~ ^[0-9a-f-]{36}$ ]] || die "build $id made no artifact"
	printf '%s\n' "$art"
}
echo "=== builds: v1 ($C_V1), v2 ($C_V2)"
ART=("" "$(build "$C_V1")" "$(build "$C_V2")")
IMG=("")
for v in 1 2; do
	IMG+=("$(kpsql -v u="${ART[v]}" <<<"SELECT substring(tag FROM '^(.*):[^:/]*\$') || '@' ||
		manifest_digest FROM build_artifacts WHERE uuid = :'u'")")
	[[ "${IMG[v]}" =~ ^[a-z0-9._:/-]+@sha256:[0-9a-f]{64}$ ]] ||
		die "artifact v$v has no image reference: ${IMG[v]}"
done
echo "    v1 ${IMG[1]}"
echo "    v2 ${IMG[2]}"

# ------------------------------------------------------------- probes

# probe OUT: curls the first host's application every PROBE_MS until
# $DIR/probe.stop exists (at most PROBE_MAX times); "TIME 1|0" lines.
H1_URL=http://${H_ADDR[0]}:$APP_PORT/version
probe() {
	local out=$1 n=0 t0 now next wait_us
	t0=${EPOCHREALTIME/./}
	while [[ ! -e "$DIR/probe.stop" ]] && ((n < PROBE_MAX)); do
		now=$EPOCHREALTIME
		if curl -fsS -o /dev/null --max-time 0.5 "$H1_URL" 2>/dev/null; then
			printf '%s 1\n' "$now"
		else
			printf '%s 0\n' "$now"
		fi
		n=$((n + 1))
		next=$((t0 + n * PROBE_MS * 1000))
		wait_us=$((next - ${EPOCHREALTIME/./}))
		if ((wait_us > 0)); then
			printf -v now '0.%06d' "$wait_us"
			sleep "$now"
		fi
	done >"$out"
}
probe_start() {
	rm -f -- "$DIR/probe.stop"
	probe "$1" &
	PROBE_PID=$!
}
probe_stop() {
	: >"$DIR/probe.stop"
	wait "$PROBE_PID" || true
	PROBE_PID=
}
# gap FILE: the longest run of failed probes (first failure .. the next
# answer, s); 0 with none. Dies when the last probe did not answer.
gap() {
	awk '{ t[NR] = $1; ok[NR] = $2 }
	END {
		if (NR == 0 || ok[NR] != 1) { print "unanswered"; exit }
		best = 0; start = 0
		for (i = 1; i <= NR; i++) {
			if (!ok[i] && !start) start = t[i]
			if (ok[i] && start) { if (t[i] - start > best) best = t[i] - start; start = 0 }
		}
		printf "%.3f\n", best
	}' "$1"
}

# ------------------------------------------------------------- deploys

CUR=()		# the version each host runs (1 or 2; 0 none yet)
for ((i = 0; i < NHOSTS; i++)); do CUR+=(0); done
other() { printf '%s\n' $((3 - $1)); }

# k_deploy N V: Keystone deploys artifact vV to the first N hosts (the
# environment's servers set to those first, untimed); sets K_ID, K_S,
# K_CPU (busy CPU seconds of the machine from just before the queueing to
# the wait's end), K_HCPU (of the test hosts' containers, the same span).
k_deploy() {
	local n=$1 v=$2 uuid st c0 c1 h0 h1 i
	env_servers "$n"
	c0=$(cpu_busy)
	h0=$(hosts_cpu_ns)
	uuid=$("$BUILD/bench/deploy_plan" -c "$CONF" "$ENV_UUID" "${ART[v]}") ||
		die "deploy_plan refused or failed"
	K_ID=$(kpsql -v u="$uuid" <<<"SELECT id FROM operations WHERE uuid = :'u'")
	[[ "$K_ID" =~ ^[0-9]+$ ]] || die "no operation $uuid"
	st=$(op_wait "$K_ID")
	c1=$(cpu_busy)
	h1=$(hosts_cpu_ns)
	if [[ "$st" != succeeded ]]; then
		op_report "$K_ID"
		die "deploy $K_ID of v$v to $n host(s): $st (see $SPOOL_LOG)"
	fi
	K_S=$(kpsql -c "SELECT round(extract(epoch FROM finished_at - created_at)::numeric, 3)
		FROM operations WHERE id = $K_ID")
	K_CPU=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
	K_HCPU=$(awk -v a="$h0" -v b="$h1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	for ((i = 0; i < n; i++)); do CUR[i]=$v; done
}

# The bare side: OpenSSH to the first host as keystone, with the pinned
# host key; a new connection per deploy (ControlPath=none), or through a
# ControlMaster made before the rounds (CM_SSH).
SSH_DEST=keystone@${H_ADDR[0]}
SSH_OPTS=(-F none -o UserKnownHostsFile="$KNOWN"
	-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes
	-o HostKeyAlias="${H_NAME[0]}" -o CheckHostIP=no -o UpdateHostKeys=no
	-o BatchMode=yes -o IdentitiesOnly=yes -i "$MGMT_KEY" -p "${H_PORT[0]}"
	-o ConnectTimeout=10 -o LogLevel=ERROR)
SSH_BASE=("${SSH_OPTS[@]}" -o ControlPath="$CM_SOCK")
SSH_NEW=("${SSH_OPTS[@]}" -o ControlPath=none -o ControlMaster=no)
PROJECT=ks-$ENV_UUID
PDIR=/home/keystone/keystone/$PROJECT

# b_deploy V new|cm: the bare script deploys vV to the first host over a
# new SSH connection or through the ControlMaster; sets B_S.
b_deploy() {
	local v=$1 t0 t1 out ssh_o
	if [[ "$2" == new ]]; then
		ssh_o=("${SSH_NEW[@]}")
	else
		ssh_o=("${SSH_BASE[@]}" -o ControlMaster=no)
	fi
	# The Compose file Keystone wrote there, with vV's reference.
	sed "s|^    image: \".*\"\$|    image: \"${IMG[v]}\"|" "$DIR/compose.yml" >"$DIR/bare.yml"
	{
		printf 'set -eu\n'
		printf 'docker pull -q %q >/dev/null\n' "${IMG[v]}"
		printf 'mkdir -p %q\n' "$PDIR"
		printf 'cat >%q <<'\''KS_BENCH_YML'\''\n' "$PDIR/docker-compose.yml"
		cat -- "$DIR/bare.yml"
		printf 'KS_BENCH_YML\n'
		printf 'docker-compose -p %q -f %q up -d --remove-orphans\n' "$PROJECT" \
			"$PDIR/docker-compose.yml"
		printf 'end=$((SECONDS + %d))\n' "$HEALTH_TIMEOUT"
		printf 'until curl -fsS -o /dev/null --max-time %d -- %q 2>/dev/null; do\n' \
			"$INTERVAL" "$H1_URL"
		printf '\t[ "$SECONDS" -lt "$end" ] || { echo "not healthy within %ds"; exit 1; }\n' \
			"$HEALTH_TIMEOUT"
		printf '\tsleep %d\ndone\n' "$INTERVAL"
	} >"$DIR/bare.sh"
	t0=$EPOCHREALTIME
	out=$(ssh "${ssh_o[@]}" "$SSH_DEST" bash -s <"$DIR/bare.sh" 2>&1) ||
		die "bare deploy ($2) of v$v failed: $out"
	t1=$EPOCHREALTIME
	B_S=$(elapsed "$t0" "$t1")
	CUR[0]=$v
}

echo "=== warm-up: v1, then v2 to the $NHOSTS hosts (first pulls, sign-ins)"
for v in 1 2; do
	k_deploy "$NHOSTS" "$v"
	echo "    v$v: deploy $K_ID ${K_S}s"
done
for ((i = 0; i < NHOSTS; i++)); do
	got=$(curl -fsS --max-time 5 "http://${H_ADDR[i]}:$APP_PORT/version") ||
		die "${H_NAME[i]} does not answer after the warm-up"
	[[ "$got" == 2 ]] || die "${H_NAME[i]} answers '$got', not 2"
done
hostctl ssh "${H_NAME[0]}" cat "$PDIR/docker-compose.yml" </dev/null >"$DIR/compose.yml" ||
	die "cannot read the Compose file Keystone wrote on ${H_NAME[0]}"
grep -q "^    image: \"${IMG[2]}\"\$" "$DIR/compose.yml" ||
	die "the Compose file on ${H_NAME[0]} does not name ${IMG[2]}"

echo "=== openssh: ControlMaster to $SSH_DEST (not timed), two bare warm-up deploys"
cm_is_up=1
timeout 30 ssh "${SSH_BASE[@]}" -o ControlMaster=yes -o ControlPersist=3600 \
	"$SSH_DEST" true </dev/null || die "could not start the OpenSSH ControlMaster"
timeout 10 ssh "${SSH_BASE[@]}" -O check "$SSH_DEST" </dev/null 2>/dev/null ||
	die "the OpenSSH ControlMaster is not running"
for v in 1 2; do
	how=new
	((v == 1)) || how=cm
	b_deploy "$v" "$how"
	got=$(curl -fsS --max-time 5 "$H1_URL") || die "${H_NAME[0]} does not answer after a bare deploy"
	[[ "$got" == "$v" ]] || die "${H_NAME[0]} answers '$got' after the bare deploy of v$v"
	echo "    bare v$v ($how): ${B_S}s"
done

# ------------------------------------------------------------- rounds

for f in f5 f1 b c cpu5 cpu1 hcpu5 hcpu1 gapk gapb gapc gapf rpair; do : >"$DIR/$f.txt"; done
F5_IDS=()
K1_IDS=()
# check_answer V: the first host answers vV (after a deploy).
check_answer() {
	local got
	got=$(curl -fsS --max-time 5 "$H1_URL") || die "${H_NAME[0]} does not answer"
	[[ "$got" == "$1" ]] || die "${H_NAME[0]} answers '$got', expected $1"
}
echo "=== $RUNS rounds: Keystone to $NHOSTS hosts; Keystone to 1 host, bare (new ssh), bare (ControlMaster) in turn"
for ((r = 1; r <= RUNS; r++)); do
	for ((i = 1; i < NHOSTS; i++)); do
		[[ "${CUR[i]}" == "${CUR[0]}" ]] || die "internal: the hosts run different versions"
	done
	v=$(other "${CUR[0]}")
	probe_start "$DIR/probe-f-$r.txt"
	k_deploy "$NHOSTS" "$v"
	probe_stop
	check_answer "$v"
	F5_IDS+=("$K_ID")
	f5=$K_S
	printf '%s\n' "$K_S" >>"$DIR/f5.txt"
	printf '%s\n' "$K_CPU" >>"$DIR/cpu5.txt"
	printf '%s\n' "$K_HCPU" >>"$DIR/hcpu5.txt"
	gf=$(gap "$DIR/probe-f-$r.txt")
	printf '%s\n' "$gf" >>"$DIR/gapf.txt"
	line="    round $r: $NHOSTS hosts ${f5}s (deploy $K_ID, cpu ${K_CPU}s, hosts ${K_HCPU}s, gap ${gf}s)"
	# The one-host sides in turn, the first rotating: k b c, b c k, c k b.
	sides=(k b c)
	for ((j = 0; j < 3; j++)); do
		side=${sides[(r - 1 + j) % 3]}
		v=$(other "${CUR[0]}")
		probe_start "$DIR/probe-$side-$r.txt"
		case $side in
		k) k_deploy 1 "$v" ;;
		b) b_deploy "$v" new ;;
		c) b_deploy "$v" cm ;;
		esac
		probe_stop
		check_answer "$v"
		g=$(gap "$DIR/probe-$side-$r.txt")
		case $side in
		k)
			K1_IDS+=("$K_ID")
			k1=$K_S
			printf '%s\n' "$K_S" >>"$DIR/f1.txt"
			printf '%s\n' "$K_CPU" >>"$DIR/cpu1.txt"
			printf '%s\n' "$K_HCPU" >>"$DIR/hcpu1.txt"
			printf '%s\n' "$g" >>"$DIR/gapk.txt"
			line+=", 1 host ${K_S}s (deploy $K_ID, cpu ${K_CPU}s, hosts ${K_HCPU}s, gap ${g}s)"
			;;
		b)
			b1=$B_S
			printf '%s\n' "$B_S" >>"$DIR/b.txt"
			printf '%s\n' "$g" >>"$DIR/gapb.txt"
			line+=", bare ${B_S}s (gap ${g}s)"
			;;
		c)
			printf '%s\n' "$B_S" >>"$DIR/c.txt"
			printf '%s\n' "$g" >>"$DIR/gapc.txt"
			line+=", bare cm ${B_S}s (gap ${g}s)"
			;;
		esac
	done
	printf '%s\n' "$(ratio "$k1" "$b1")" >>"$DIR/rpair.txt"
	# Three switches left host 1 on the other version than the rest: one
	# more (bare, through the ControlMaster, not timed) so that the next
	# five-host deploy switches every host.
	v=$(other "${CUR[0]}")
	b_deploy "$v" cm
	check_answer "$v"
	echo "$line"
done
for f in gapf gapk gapb gapc; do
	! grep -q unanswered "$DIR/$f.txt" || die "a probe's last curl got no answer ($f)"
done

# Where the time goes on the host: the commands of a Keystone deploy step
# (lib/scripts/deploy_server.sh, auth_login.sh) that the bare script does
# not run, each timed alone on the first host (after the rounds, not part
# of any figure; the application running, nothing switched), best of 3,
# ms; the bare script's own commands for scale. Then, from this machine,
# `ssh HOST true` over a new connection and through the ControlMaster.
{
	printf 'P=%q F=%q I=%q E=%q\n' "$PROJECT" "$PDIR/docker-compose.yml" "${IMG[CUR[0]]}" \
		"$ENV_UUID"
	cat <<'EOF'
t() {
	local name=$1 best= a b d k
	shift
	for k in 1 2 3; do
		a=${EPOCHREALTIME/./}
		"$@" >/dev/null 2>&1 || true
		b=${EPOCHREALTIME/./}
		d=$(((b - a) / 1000))
		if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
	done
	printf '%s|%s\n' "$name" "$best"
}
dc() { docker-compose -p "$P" -f "$F" "$@"; }
url=http://$(sed -n 's/^      HOST: "\(.*\)"$/\1/p' "$F"):$(sed -n 's/^      PORT: "\(.*\)"$/\1/p' "$F")/version
pick() {
	local d
	for d in ~/.docker/cli-plugins ~/.docker/cli-plugins /usr/local/lib/docker/cli-plugins \
	    /usr/local/libexec/docker/cli-plugins /usr/lib/docker/cli-plugins \
	    /usr/libexec/docker/cli-plugins; do
		[ -f "$d/docker-compose" ] && [ -x "$d/docker-compose" ] && return 0
	done
	command -v docker-compose
}
# (The gate's look by name must find the container, or it falls back to
# docker ps: say so.)
docker inspect -f '{{.Name}}' "${P}_web_1" >/dev/null 2>&1 ||
	printf 'NOT FOUND: the container named %s (the gate uses docker ps)|-\n' "${P}_web_1"
t "compose: plugin files, command -v (shell only)" pick
t "dpkg --print-architecture" dpkg --print-architecture
t "auth: id x2, mkdir, grep, chmod x2, stat" sh -c 'id -un; id keystone; mkdir -p ~/.docker;
	grep -qF x ~/.docker/config.json; chmod 0700 ~/.docker; chmod 0600 ~/.docker/config.json;
	stat ~/.docker/config.json'
t "docker image inspect (the gate's image id)" docker image inspect -f '{{.Id}}' "$I"
t "docker inspect by name (the gate, per look)" docker inspect --type container -f \
	'{{index .Config.Labels "com.docker.compose.project"}}|{{.Config.Image}} {{.Image}}|{{.State.Status}}' \
	"${P}_web_1"
t "prune: docker image ls (KEEP not reached)" docker image ls -q --no-trunc \
	--filter "label=dev.keystone.environment=$E"
t "not run: docker compose version (old plugin probe)" docker compose version
t "both: docker pull -q (image present)" docker pull -q "$I"
t "both: docker-compose up -d (nothing to change)" dc up -d --remove-orphans
t "both: curl of the health path" curl -fsS -o /dev/null --max-time 1 "$url"
EOF
} >"$DIR/costs.sh"
costs=$(ssh "${SSH_BASE[@]}" -o ControlMaster=no "$SSH_DEST" bash -s <"$DIR/costs.sh" 2>&1) ||
	die "timing the step's commands failed: $costs"
# ssh_best NAME SSH-OPTION...: `ssh HOST true`, best of 3 (ms).
ssh_best() {
	local name=$1 best="" a b d k
	shift
	for k in 1 2 3; do
		a=${EPOCHREALTIME/./}
		ssh "$@" "$SSH_DEST" true </dev/null >/dev/null 2>&1 || die "ssh ($name) failed"
		b=${EPOCHREALTIME/./}
		d=$(((b - a) / 1000))
		if [[ -z "$best" ]] || ((d < best)); then best=$d; fi
	done
	printf '%s|%s\n' "$name" "$best"
}
costs+=$'\n'$(ssh_best "ssh true, a new connection (from here)" "${SSH_NEW[@]}")
costs+=$'\n'$(ssh_best "ssh true, through the ControlMaster (from here)" "${SSH_BASE[@]}" \
	-o ControlMaster=no)

# Where the time goes: per deploy, its claim (created .. started), the
# steps' start spread and run times, the end (last step .. finished).
step_stats() {
	local ids
	ids=$(IFS=,; printf '%s' "$*")
	kpsql -F ' ' <<EOF
WITH s AS (
	SELECT o.id,
		extract(epoch FROM o.started_at - o.created_at) AS claim,
		extract(epoch FROM min(s.started_at) - o.started_at) AS first,
		extract(epoch FROM max(s.started_at) - min(s.started_at)) AS spread,
		extract(epoch FROM avg(s.finished_at - s.started_at)) AS mean_run,
		extract(epoch FROM max(s.finished_at - s.started_at)) AS max_run,
		extract(epoch FROM o.finished_at - max(s.finished_at)) AS tail
	FROM operations o JOIN operation_steps s ON s.operation_id = o.id
	WHERE o.id IN ($ids) GROUP BY o.id)
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY claim)::numeric * 1000, 1),
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY first)::numeric * 1000, 1),
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY spread)::numeric * 1000, 1),
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY mean_run)::numeric * 1000, 1),
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY max_run)::numeric * 1000, 1),
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY tail)::numeric * 1000, 1)
FROM s;
EOF
}
read -r s5_claim s5_first s5_spread s5_mean s5_max s5_tail < <(step_stats "${F5_IDS[@]}") ||
	die "cannot read the five-host deploys' steps"
read -r s1_claim s1_first s1_spread s1_mean s1_max s1_tail < <(step_stats "${K1_IDS[@]}") ||
	die "cannot read the one-host deploys' steps"

fanout5_s=$(median "$DIR/f5.txt")
fanout1_s=$(median "$DIR/f1.txt")
bare_s=$(median "$DIR/b.txt")
bare_cm_s=$(median "$DIR/c.txt")
cpu5_s=$(median "$DIR/cpu5.txt")
cpu1_s=$(median "$DIR/cpu1.txt")
hosts_cpu5_s=$(median "$DIR/hcpu5.txt")
hosts_cpu1_s=$(median "$DIR/hcpu1.txt")
gap_s=$(median "$DIR/gapk.txt")
bare_gap_s=$(median "$DIR/gapb.txt")
bare_cm_gap_s=$(median "$DIR/gapc.txt")
fanout_gap_s=$(median "$DIR/gapf.txt")
ratio_deploy_paired=$(printf '%.2f' "$(median "$DIR/rpair.txt")")
ratio_fanout=$(ratio "$fanout5_s" "$fanout1_s")
ratio_deploy=$(ratio "$fanout1_s" "$bare_s")
ratio_deploy_cm=$(ratio "$fanout1_s" "$bare_cm_s")

# ------------------------------------------------------------- teardown

echo "=== teardown"
cleanup_rc=0
cleanup || cleanup_rc=$?

# ------------------------------------------------------------- report

echo
printf '%-56s %10s\n' measure value
printf '%-56s %10s\n' "rounds" "$RUNS"
printf '%-56s %10s\n' "health check interval of the service (s)" "$INTERVAL"
printf '%-56s %10s\n' "keystone, $NHOSTS hosts: created .. finished, median (s)" "$fanout5_s"
printf '%-56s %10s\n' "keystone, 1 host: created .. finished, median (s)" "$fanout1_s"
printf '%-56s %10s\n' "bare script, new ssh connection, 1 host, median (s)" "$bare_s"
printf '%-56s %10s\n' "bare script, ssh ControlMaster, 1 host, median (s)" "$bare_cm_s"
printf '%-56s %10s\n' "ratio $NHOSTS hosts / 1 host" "$ratio_fanout"
printf '%-56s %10s\n' "ratio keystone / bare (medians)" "$ratio_deploy"
printf '%-56s %10s\n' "ratio keystone / bare, median of each round's" "$ratio_deploy_paired"
printf '%-56s %10s\n' "ratio keystone / bare through the ControlMaster" "$ratio_deploy_cm"
printf '%-56s %10s\n' "machine CPU over a $NHOSTS-host deploy, median (s)" "$cpu5_s"
printf '%-56s %10s\n' "machine CPU over a 1-host deploy, median (s)" "$cpu1_s"
printf '%-56s %10s\n' "test hosts' CPU over a $NHOSTS-host deploy, median (s)" "$hosts_cpu5_s"
printf '%-56s %10s\n' "test hosts' CPU over a 1-host deploy, median (s)" "$hosts_cpu1_s"
printf '%-56s %10s\n' "no answer on host 1: keystone 1 host, median (s)" "$gap_s"
printf '%-56s %10s\n' "no answer on host 1: bare, median (s)" "$bare_gap_s"
printf '%-56s %10s\n' "no answer on host 1: bare (ControlMaster), median (s)" "$bare_cm_gap_s"
printf '%-56s %10s\n' "no answer on host 1: keystone $NHOSTS hosts, median (s)" "$fanout_gap_s"
echo
echo "Keystone deploys, medians (ms):    $NHOSTS hosts    1 host"
printf '  %-32s %10s %10s\n' "claim (created .. started)" "$s5_claim" "$s1_claim" \
	"started .. first step starts" "$s5_first" "$s1_first" \
	"first .. last step starts" "$s5_spread" "$s1_spread" \
	"a step's run, mean" "$s5_mean" "$s1_mean" \
	"a step's run, longest" "$s5_max" "$s1_max" \
	"last step ends .. finished" "$s5_tail" "$s1_tail"
echo "Commands on host 1, best of 3 (ms; the deploy step runs the first six, the bare script not):"
while IFS='|' read -r name ms; do
	printf '  %-50s %8s\n' "$name" "$ms"
done <<<"$costs"
echo "ratio_fanout=$ratio_fanout fanout5_s=$fanout5_s fanout1_s=$fanout1_s cpu5_s=$cpu5_s" \
	"cpu1_s=$cpu1_s hosts_cpu5_s=$hosts_cpu5_s hosts_cpu1_s=$hosts_cpu1_s" \
	"health_interval_s=$INTERVAL ratio_deploy=$ratio_deploy" \
	"keystone_s=$fanout1_s bare_s=$bare_s ratio_deploy_paired=$ratio_deploy_paired" \
	"ratio_deploy_cm=$ratio_deploy_cm bare_cm_s=$bare_cm_s" \
	"gap_s=$gap_s bare_gap_s=$bare_gap_s fanout_gap_s=$fanout_gap_s runs=$RUNS hosts=$NHOSTS"
exit "$cleanup_rc"
