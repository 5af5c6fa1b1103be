# shellcheck shell=bash
# bench/lib.sh: what bench/build.sh and bench/deploy.sh share (sourced
# after deploy/stack.sh). The caller sets, before using what needs them:
#   DIR        its temp directory (run/, log/ of the stack)
#   PGCONN     the stack's PostgreSQL (kpsql)
#   TIMEOUT    seconds an operation may take (op_wait, bench_registry_ready)
#   SPOOL_LOG  the spooler's log (named in failures)
#   CTL        keystonectl with the stack's configuration (an array)
#   REG_HOST   the registry's name:port; HOSTS_AT when its /etc/hosts line
#              was written (bench_registry_ready)

die() {
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

# Ports: stack_free_port and stack_release_ports (deploy/stack.sh), the
# reservations tests/run.sh makes too.

# median FILE: the median of the numbers in FILE (one a line).
median() {
	sort -g -- "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minimum() {
	sort -g -- "$1" | awk 'NR == 1 { printf "%.3f\n", $1 }'
}
# elapsed A B: B - A in seconds (three decimals).
elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'
}
# ratio A B: A / B (two decimals), nan when B is not positive.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'
}

kpsql() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$PGCONN" "$@"
}

# op_wait ID: waits (at most TIMEOUT s) until operation ID has ended;
# prints its status. The waiting is done by PostgreSQL (a DO block that
# looks every 0.1 s for up to 2 s), not by a psql started every few
# hundred ms: those would take CPU from the operation being measured (~30
# ms of CPU each here) and from nothing on the bare side. finished_at is
# written by the spooler, so how soon this notices does not change the
# figure.
op_wait() {
	local id=$1 st i
	for ((i = 0; i < TIMEOUT / 2 + 1; i++)); do
		# (Each statement of the DO block sees what is committed when
		# it starts; one plain SELECT would see one snapshot.)
		st=$(kpsql <<EOF
DO \$\$ BEGIN
	FOR i IN 1..20 LOOP
		EXIT WHEN EXISTS (SELECT 1 FROM operations WHERE id = $id
			AND status IN ('succeeded', 'failed', 'cancelled'));
		PERFORM pg_sleep(0.1);
	END LOOP;
END \$\$;
SELECT status FROM operations WHERE id = $id;
EOF
)
		case $st in
		succeeded | failed | cancelled)
			printf '%s\n' "$st"
			return 0
			;;
		esac
		if ! _stack_pid_alive "$DIR/run/spooler.pid" keystone-spooler; then
			tail -n 20 -- "$SPOOL_LOG" >&2
			die "keystone-spooler died while operation $id ran; see $SPOOL_LOG"
		fi
	done
	die "operation $id not ended after ${TIMEOUT}s (see $SPOOL_LOG)"
}

# op_report ID: the operation's steps, their status and the tail of each
# failed step's output (on stderr).
op_report() {
	kpsql -F ' | ' -c "SELECT o.status, coalesce(o.error, '') FROM operations o
		WHERE o.id = $1" >&2 || true
	kpsql -F ' | ' -c "SELECT s.ordinal, s.name, s.status, coalesce(s.exit_code::text, ''),
		coalesce(s.error, ''),
		CASE WHEN s.status = 'failed' THEN right((SELECT string_agg(chunk, '' ORDER BY seq)
			FROM operation_output WHERE step_id = s.id), 1500) ELSE '' END
		FROM operation_steps s WHERE s.operation_id = $1 ORDER BY s.ordinal" >&2 || true
}

# bench_registry_ready: `registry setup REG_HOST` and `registry
# provision`, then waits until no operation is queued or running; dies
# with the registry's reason and the failed operations unless it is
# ready. dockerd re-reads /etc/hosts only when its copy is over 5 s old:
# the setup waits until 7 s after HOSTS_AT.
bench_registry_ready() {
	local i busy state id
	while ((EPOCHSECONDS - HOSTS_AT < 7)); do
		sleep 0.5
	done
	"${CTL[@]}" registry setup "$REG_HOST" >/dev/null || die "keystonectl registry setup failed"
	"${CTL[@]}" registry provision >/dev/null || die "keystonectl registry provision failed"
	for ((i = 0; ; i++)); do
		busy=$(kpsql -c "SELECT count(*) FROM operations WHERE status IN ('queued', 'running')")
		[[ "$busy" == 0 ]] && break
		((i < TIMEOUT * 5)) ||
			die "registry provisioning still running after ${TIMEOUT}s (see $SPOOL_LOG)"
		sleep 0.2
	done
	state=$(kpsql -c "SELECT state FROM registry")
	if [[ "$state" != ready ]]; then
		kpsql -c "SELECT state, coalesce(state_reason, '') FROM registry" >&2 || true
		for id in $(kpsql -c "SELECT id FROM operations WHERE status <> 'succeeded'
			ORDER BY id"); do
			op_report "$id"
		done
		die "the registry is $state, not ready"
	fi
}
