#!/usr/bin/env bash
# bench/ops.sh (as root, after `make all`): what keystone-spooler costs per
# operation and per step, in one run:
#
#   1. local drain rate: a throwaway stack (deploy/stack.sh, RELEASE build
#      in build/) whose own spooler is stopped; 1,000 queued operations of
#      one step `true` on control_node are inserted in one transaction (one
#      INSERT ... SELECT generate_series for the operations, one for their
#      steps), then build/keystone-spooler starts with
#      KEYSTONE_SPOOLER_WORKERS=2 and is timed until nothing is queued or
#      running; every operation must have succeeded;
#   2. SSH per-step cost over a kept connection: one `ready` test host
#      (tests/hosts/hostctl, its own KS_HOSTS_STATE), a servers row for it
#      (ssh_user keystone, its ed25519 host key pinned from the harness's
#      known_hosts), the spooler restarted with KEYSTONE_SSH_KEY_FILE = the
#      management key, and ONE operation of 200 steps `true` on
#      specific_server. Baseline, same host, user, key and host key check:
#      OpenSSH through a ControlMaster (the master made first, not timed),
#      200 x `ssh ... true` timed one after the other;
#   3. teardown: the ControlMaster, the test host (hostctl down), our use of
#      the engine (hostctl engine-down) and the stack (stack_down).
#
# Figures:
#   local_s          spooler start .. the last operation's finished_at
#   local_ops_per_s  1000 / local_s
#   ssh_step_ms      steady-state cost of one SSH step, connection kept:
#                    (finished_at of step 200 - finished_at of step 1) / 199,
#                    i.e. everything between two consecutive steps: the
#                    step's database writes (start, output, finish), the
#                    channel open, `bash -s` with the wrapper, `true`, the
#                    exit status and channel close. Step 1 also pays the TCP
#                    connect, handshake and authentication; it is left out
#                    (the baseline's master is made before timing too) and
#                    shown on its own in the table, with claim..finish / 200.
#   openssh_step_ms  wall time of the 200 `ssh -o ControlPath=... true` / 200
#   ratio_ssh        ssh_step_ms / openssh_step_ms (above 1 is expected:
#                    Keystone sends a wrapper and stores output and status
#                    in PostgreSQL for every step)
# The table comes first; the LAST line of stdout is exactly:
#   local_ops=1000 local_s= local_ops_per_s= ssh_steps=200 ssh_step_ms=
#   openssh_step_ms= ratio_ssh=
#
# Knobs (environment): BENCH_PORT (first port tried, default 19243),
# BENCH_TIMEOUT (seconds each drain may take, default 600), BENCH_KEEP=1
# keeps the temp dir (logs) after the run. Loopback only: PostgreSQL on a
# unix socket, Caddy on 127.0.0.1, the test host on 127.0.0.N.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"
# shellcheck source=deploy/stack.sh
. "$REPO/deploy/stack.sh"
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"

BUILD=$REPO/build
HOSTCTL=$REPO/tests/hosts/hostctl
PORT0=${BENCH_PORT:-19243}
TIMEOUT=${BENCH_TIMEOUT:-600}
N_LOCAL=1000
N_STEPS=200
WORKERS=2

[[ "$TIMEOUT" =~ ^[0-9]+$ && "$TIMEOUT" -ge 10 && "$TIMEOUT" -le 3600 ]] ||
	die "BENCH_TIMEOUT must be an integer in 10..3600"
[[ "$(id -u)" -eq 0 ]] || die "must run as root (the stack starts PostgreSQL as user keystone)"
for c in psql caddy curl ssh ssh-keygen awk ss setsid timeout; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found (run deploy/deps.sh)"
done
[[ -x "$BUILD/keystone.fcgi" && -x "$BUILD/keystonectl" && -x "$BUILD/keystone-spooler" ]] ||
	die "$BUILD/keystone.fcgi, keystonectl or keystone-spooler missing (run make all)"
[[ -f "$HOSTCTL" ]] || die "$HOSTCTL missing"

now() { date +%s.%N; }

# ------------------------------------------------------------- cleanup

DIR=$(mktemp -d /tmp/ks-bops.XXXXXX)
HSTATE=
CM_SOCK=$DIR/cm.sock
SSH_BASE=()
stack_is_up=0
hosts_are_up=0
cm_is_up=0

hostctl() {
	KS_HOSTS_STATE=$HSTATE bash "$HOSTCTL" "$@"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if ((cm_is_up)); then
		cm_is_up=0
		ssh "${SSH_BASE[@]}" -O exit "$SSH_DEST" >/dev/null 2>&1 || true
	fi
	if ((hosts_are_up)); then
		hosts_are_up=0
		hostctl down >>"$DIR/log/hostctl.log" 2>&1 ||
			echo "bench: hostctl down reported an error (see $DIR/log/hostctl.log)" >&2
		hostctl engine-down >>"$DIR/log/hostctl.log" 2>&1 || true
	fi
	if [[ -n "$HSTATE" && -d "$HSTATE" ]]; then
		rm -rf -- "$HSTATE"
	fi
	if ((stack_is_up)); then
		stack_is_up=0
		stack_down "$DIR" || true
	fi
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
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# ------------------------------------------------------------- the stack

mkdir -p -- "$DIR/static"
PORT=$(stack_free_port "$PORT0")
echo "=== stack: $DIR, https://localhost:$PORT (release build)"
stack_is_up=1
stack_up "$DIR" "$PORT" "$BUILD" "$DIR/static" || die "could not bring up the stack"
PGCONN=$(stack_pg_conninfo "$DIR")
CONF=$DIR/keystone.conf
SPOOL_LOG=$DIR/log/spooler.log

# spooler_start [VAR=VALUE...]: build/keystone-spooler with WORKERS workers
# (and the given environment), under the stack's pid file so that
# stack_spooler_stop and stack_down stop it.
spooler_start() {
	_stack_spawn "$SPOOL_LOG" "$DIR/run/spooler.pid" env \
		KEYSTONE_SPOOLER_WORKERS="$WORKERS" "$@" \
		"$BUILD/keystone-spooler" -c "$CONF" || die "could not start keystone-spooler"
	sleep 0.05
	_stack_proc_alive "$_STACK_BGPID" || {
		tail -n 20 -- "$SPOOL_LOG" >&2
		die "keystone-spooler exited at start; see $SPOOL_LOG"
	}
}

# drain WHERE: waits (at most TIMEOUT s) until no operation matching WHERE
# is queued or running.
drain() {
	local where=$1 left i
	for ((i = 0; i < TIMEOUT * 20; i++)); do
		left=$(kpsql -c "SELECT count(*) FROM operations o
			WHERE ($where) AND o.status IN ('queued', 'running')")
		[[ "$left" == 0 ]] && return 0
		if ! _stack_pid_alive "$DIR/run/spooler.pid" keystone-spooler; then
			tail -n 20 -- "$SPOOL_LOG" >&2
			die "keystone-spooler died with $left operation(s) left; see $SPOOL_LOG"
		fi
		sleep 0.05
	done
	die "operations still queued or running after ${TIMEOUT}s (see $SPOOL_LOG)"
}

# ---------------------------------------------- 1. local executor drain

echo "=== local: stopping the stack's spooler, queueing $N_LOCAL operations"
stack_spooler_stop "$DIR" || die "could not stop the stack's spooler"

# One transaction: a spooler never sees an operation without its step.
# created_at defaults to now(), the transaction's start, so "created_at =
# now()" names exactly the operations made here.
kpsql <<EOF
BEGIN;
INSERT INTO operations (kind, subject_type)
SELECT 'check', 'none' FROM generate_series(1, $N_LOCAL) g;
INSERT INTO operation_steps (operation_id, ordinal, name, target, script, timeout_s)
SELECT o.id, 1, 'true', 'control_node', 'true', 60
FROM operations o WHERE o.created_at = now() AND o.kind = 'check'
	AND o.status = 'queued';
COMMIT;
EOF
LOCAL_FIRST=$(kpsql -c "SELECT min(o.id) FROM operations o JOIN operation_steps s
	ON s.operation_id = o.id WHERE o.kind = 'check' AND s.target = 'control_node'")
LOCAL_WHERE="o.kind = 'check' AND o.id >= $LOCAL_FIRST"
n=$(kpsql -c "SELECT count(*) FROM operations o JOIN operation_steps s
	ON s.operation_id = o.id WHERE $LOCAL_WHERE AND o.status = 'queued'")
[[ "$n" == "$N_LOCAL" ]] || die "queued $n operations with a step, not $N_LOCAL"

echo "=== local: keystone-spooler, $WORKERS workers"
t0=$(now)
spooler_start
drain "$LOCAL_WHERE"
t_seen=$(now)
read -r ok steps_ok db_span t_last < <(kpsql -F ' ' -c "SELECT
	count(*) FILTER (WHERE o.status = 'succeeded'),
	(SELECT count(*) FROM operation_steps s JOIN operations o ON o.id = s.operation_id
		WHERE $LOCAL_WHERE AND s.status = 'succeeded' AND s.exit_code = 0),
	extract(epoch FROM max(o.finished_at) - min(o.started_at)),
	extract(epoch FROM max(o.finished_at))
	FROM operations o WHERE $LOCAL_WHERE") || die "local: cannot read the results"
[[ "$ok" == "$N_LOCAL" && "$steps_ok" == "$N_LOCAL" ]] ||
	die "local: $ok operations and $steps_ok steps succeeded, not $N_LOCAL (see $SPOOL_LOG)"
local_s=$(awk -v a="$t0" -v b="$t_last" 'BEGIN { printf "%.3f", b - a }')
local_seen_s=$(awk -v a="$t0" -v b="$t_seen" 'BEGIN { printf "%.3f", b - a }')
local_ops_per_s=$(awk -v n="$N_LOCAL" -v s="$local_s" 'BEGIN { printf "%.1f", n / s }')
# Per operation, as one worker sees it: claim .. finish, and the step alone.
read -r op_ms step_ms op_p50 op_p99 < <(kpsql -F ' ' -c "SELECT
	round(avg(extract(epoch FROM o.finished_at - o.started_at)) * 1000, 2),
	round(avg(extract(epoch FROM s.finished_at - s.started_at)) * 1000, 2),
	round((percentile_cont(0.5) WITHIN GROUP (ORDER BY
		extract(epoch FROM o.finished_at - o.started_at)) * 1000)::numeric, 2),
	round((percentile_cont(0.99) WITHIN GROUP (ORDER BY
		extract(epoch FROM o.finished_at - o.started_at)) * 1000)::numeric, 2)
	FROM operations o JOIN operation_steps s ON s.operation_id = o.id
	WHERE $LOCAL_WHERE") || die "local: cannot read the timings"
echo "=== local: $N_LOCAL succeeded in ${local_s}s (drain seen after ${local_seen_s}s)"

# ------------------------------------------------- 2. SSH per-step cost

HSTATE=$(mktemp -d /tmp/ks-hosts-bops.XXXXXX)
echo "=== ssh: one ready test host (KS_HOSTS_STATE=$HSTATE)"
hosts_are_up=1
hostctl engine-up >>"$DIR/log/hostctl.log" 2>&1 ||
	die "hostctl engine-up failed (see $DIR/log/hostctl.log)"
KS_HOSTS_STATE=$HSTATE timeout -k 10 600 bash "$HOSTCTL" up 1 --kind ready \
	</dev/null >>"$DIR/log/hostctl.log" 2>&1 ||
	die "hostctl up failed (see $DIR/log/hostctl.log)"
read -r H_NAME H_ADDR H_PORT H_USER H_KIND _ < <(hostctl list | awk '$5 == "ready"' | head -n 1) ||
	die "no ready host in $(hostctl list)"
[[ "$H_USER" == keystone && "$H_ADDR" =~ ^127\. ]] ||
	die "unexpected test host: $H_NAME $H_ADDR $H_USER $H_KIND"
MGMT_KEY=$(hostctl keys mgmt)
[[ -r "$MGMT_KEY" ]] || die "management key $MGMT_KEY not readable"
KNOWN=$HSTATE/ssh/known_hosts
HOST_KEY=$(awk -v h="$H_NAME,$H_ADDR" '$1 == h && $2 == "ssh-ed25519" { print $2 " " $3; exit }' \
	"$KNOWN")
[[ "$HOST_KEY" =~ ^ssh-ed25519\ [A-Za-z0-9+/=]+$ ]] ||
	die "no ed25519 key for $H_NAME,$H_ADDR in $KNOWN"
HOST_FP=$(printf '%s\n' "$HOST_KEY" | ssh-keygen -l -E sha256 -f - | awk '{ print $2 }')
echo "=== ssh: $H_NAME ($H_ADDR:$H_PORT), host key $HOST_FP"

SERVER_ID=$(kpsql -v name="bench-$H_NAME" -v addr="$H_ADDR" -v port="$H_PORT" \
	-v key="$HOST_KEY" -v fp="$HOST_FP" <<'EOF'
INSERT INTO servers (name, address, ssh_port, ssh_user, role_build, role_runtime,
	status, host_key, host_key_sha256, host_key_pinned_at)
VALUES (:'name', :'addr', :'port'::int, 'keystone', false, true,
	'active', :'key', :'fp', now())
RETURNING id;
EOF
)
[[ "$SERVER_ID" =~ ^[0-9]+$ ]] || die "could not insert the server row"

# The spooler again, now with the management key.
stack_spooler_stop "$DIR" || die "could not stop keystone-spooler"
spooler_start KEYSTONE_SSH_KEY_FILE="$MGMT_KEY"
sleep 0.5	# its workers LISTEN: the operation below wakes them by NOTIFY

SSH_OP=$(kpsql -v sid="$SERVER_ID" -v n="$N_STEPS" <<'EOF'
WITH o AS (
	INSERT INTO operations (kind, subject_type, subject_id)
	VALUES ('check', 'server', :'sid'::bigint) RETURNING id),
s AS (
	INSERT INTO operation_steps (operation_id, ordinal, name, target, server_id,
		script, timeout_s)
	SELECT o.id, g, 'true', 'specific_server', :'sid'::bigint, 'true', 60
	FROM o CROSS JOIN generate_series(1, :'n'::int) g)
SELECT id FROM o;
EOF
)
[[ "$SSH_OP" =~ ^[0-9]+$ ]] || die "could not insert the SSH operation"
echo "=== ssh: operation $SSH_OP, $N_STEPS steps on $H_NAME"
drain "o.id = $SSH_OP"
read -r st nsteps wake_ms op_total_ms first_ms steady_ms < <(kpsql -F ' ' -c "SELECT o.status,
	(SELECT count(*) FROM operation_steps s WHERE s.operation_id = o.id
		AND s.status = 'succeeded' AND s.exit_code = 0),
	round(extract(epoch FROM o.started_at - o.created_at) * 1000, 2),
	round(extract(epoch FROM o.finished_at - o.started_at) * 1000, 2),
	(SELECT round(extract(epoch FROM s.finished_at - s.started_at) * 1000, 2)
		FROM operation_steps s WHERE s.operation_id = o.id AND s.ordinal = 1),
	(SELECT round(extract(epoch FROM max(s.finished_at) - min(s.finished_at)) * 1000, 2)
		FROM operation_steps s WHERE s.operation_id = o.id)
	FROM operations o WHERE o.id = $SSH_OP") || die "ssh: cannot read the results"
if [[ "$st" != succeeded || "$nsteps" != "$N_STEPS" ]]; then
	kpsql -c "SELECT error FROM operations WHERE id = $SSH_OP" >&2 || true
	die "ssh: operation $st with $nsteps/$N_STEPS steps succeeded (see $SPOOL_LOG)"
fi
ssh_step_ms=$(awk -v t="$steady_ms" -v n="$N_STEPS" 'BEGIN { printf "%.2f", t / (n - 1) }')
ssh_total_step_ms=$(awk -v t="$op_total_ms" -v n="$N_STEPS" 'BEGIN { printf "%.2f", t / n }')
read -r ssh_db_step_ms < <(kpsql -c "SELECT round(avg(extract(epoch FROM
	s.finished_at - s.started_at)) * 1000, 2) FROM operation_steps s
	WHERE s.operation_id = $SSH_OP AND s.ordinal > 1") || die "ssh: cannot read the timings"

# The baseline: OpenSSH, same host, user, key and host key check.
SSH_DEST=keystone@$H_ADDR
SSH_BASE=(-F none -o ControlPath="$CM_SOCK" -o UserKnownHostsFile="$KNOWN"
	-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes
	-o HostKeyAlias="$H_NAME" -o CheckHostIP=no -o UpdateHostKeys=no
	-o BatchMode=yes -o IdentitiesOnly=yes -i "$MGMT_KEY" -p "$H_PORT"
	-o ConnectTimeout=10 -o LogLevel=ERROR)
echo "=== openssh: ControlMaster to $SSH_DEST, then $N_STEPS x ssh true"
cm_is_up=1
timeout 30 ssh "${SSH_BASE[@]}" -o ControlMaster=yes -o ControlPersist=60 \
	"$SSH_DEST" true </dev/null || die "could not start the OpenSSH ControlMaster"
timeout 10 ssh "${SSH_BASE[@]}" -O check "$SSH_DEST" </dev/null 2>/dev/null ||
	die "the OpenSSH ControlMaster is not running"
# One untimed round (the first use of a master can cost more).
ssh "${SSH_BASE[@]}" -o ControlMaster=no "$SSH_DEST" true </dev/null
ts=$(now)
for ((i = 0; i < N_STEPS; i++)); do
	ssh "${SSH_BASE[@]}" -o ControlMaster=no "$SSH_DEST" true </dev/null ||
		die "ssh true through the ControlMaster failed (round $i)"
done
te=$(now)
openssh_step_ms=$(awk -v a="$ts" -v b="$te" -v n="$N_STEPS" \
	'BEGIN { printf "%.2f", (b - a) * 1000 / n }')
ssh "${SSH_BASE[@]}" -O exit "$SSH_DEST" >/dev/null 2>&1 || true
cm_is_up=0
ratio_ssh=$(awk -v a="$ssh_step_ms" -v b="$openssh_step_ms" \
	'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }')

# ------------------------------------------------------- 3. teardown

# Everything down before the report, so that what it says on the way down
# comes first and the figures stay the last line.
echo "=== teardown: test host, engine use, stack"
hosts_are_up=0
hostctl down >>"$DIR/log/hostctl.log" 2>&1 ||
	echo "bench: hostctl down reported an error (see $DIR/log/hostctl.log)" >&2
hostctl engine-down >>"$DIR/log/hostctl.log" 2>&1 || true
rm -rf -- "$HSTATE"
HSTATE=
stack_is_up=0
stack_down "$DIR" || echo "bench: stack_down reported an error" >&2

# ------------------------------------------------------------ report

echo
printf '%-44s %12s\n' measure value
printf '%-44s %12s\n' "local: operations (1 step \`true\`)" "$N_LOCAL"
printf '%-44s %12s\n' "local: spooler workers" "$WORKERS"
printf '%-44s %12s\n' "local: spooler start .. last finish (s)" "$local_s"
printf '%-44s %12s\n' "local: first claim .. last finish (s)" "$(printf '%.3f' "$db_span")"
printf '%-44s %12s\n' "local: operations/s" "$local_ops_per_s"
printf '%-44s %12s\n' "local: claim .. finish per op, mean (ms)" "$op_ms"
printf '%-44s %12s\n' "local: claim .. finish per op, p50 (ms)" "$op_p50"
printf '%-44s %12s\n' "local: claim .. finish per op, p99 (ms)" "$op_p99"
printf '%-44s %12s\n' "local: step start .. finish, mean (ms)" "$step_ms"
printf '%-44s %12s\n' "ssh: steps in one operation" "$N_STEPS"
printf '%-44s %12s\n' "ssh: insert .. claim (NOTIFY wake-up, ms)" "$wake_ms"
printf '%-44s %12s\n' "ssh: step 1 incl. connect + auth (ms)" "$first_ms"
printf '%-44s %12s\n' "ssh: claim .. finish / $N_STEPS (ms)" "$ssh_total_step_ms"
printf '%-44s %12s\n' "ssh: step start .. finish, mean 2..$N_STEPS (ms)" "$ssh_db_step_ms"
printf '%-44s %12s\n' "ssh: per step, steady (ms)" "$ssh_step_ms"
printf '%-44s %12s\n' "openssh: per \`ssh true\` via ControlMaster (ms)" "$openssh_step_ms"
printf '%-44s %12s\n' "ratio keystone ssh / openssh" "$ratio_ssh"
echo "local_ops=$N_LOCAL local_s=$local_s local_ops_per_s=$local_ops_per_s" \
	"ssh_steps=$N_STEPS ssh_step_ms=$ssh_step_ms openssh_step_ms=$openssh_step_ms" \
	"ratio_ssh=$ratio_ssh"
