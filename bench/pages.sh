#!/usr/bin/env bash
# `make bench` (after `make all`): load test of two list pages against static
# files of the same byte size served by the same Caddy, and of /healthz (the
# floor: one request through Caddy and FastCGI with no work behind it).
#
#   1. a throwaway stack (PostgreSQL + RELEASE keystone.fcgi + Caddy) in a
#      temp dir, with a temp static dir (a copy of static/ plus bench files);
#   2. a user "bench", signed in through the real login form (curl);
#   3. seed data: 1,000 servers, 1 application, 1 environment with 10,000
#      build artifacts; VACUUM (ANALYZE);
#   4. wrk (HTTP/1.1 over TLS, loopback only) against /servers, the
#      environment's artifacts page, /healthz (no session cookie) and one
#      static file per page, each of exactly the page's byte size; a short
#      warm-up before every run;
#   5. the floor: bench/fcgi_floor (a FastCGI responder with no work,
#      Keystone's headers, a body of the asked size, as many workers as
#      keystone.fcgi) behind the same Caddy on its own port, run for each
#      page's byte size, and /servers/new (the cheapest signed-in page:
#      session lookup and a small template, no list);
#   6. peak RSS (VmHWM) of the FastCGI master and of each worker.
#
# Prints a table, then as its LAST line one line of key=value figures:
#   servers_rps servers_p99_ms artifacts_rps artifacts_p99_ms
#   static_servers_rps static_servers_p99_ms static_artifacts_rps
#   static_artifacts_p99_ms static_rps ratio_servers ratio_artifacts
#   rss_kb rss_cur_kb master_rss_kb master_anon_kb healthz_rps healthz_p99_ms ratio_floor
#   floor_servers_rps floor_artifacts_rps ratio_floor_servers
#   ratio_floor_artifacts signed_in_rps
# ratio_X = X_rps / static_X_rps (static file of the same size as page X);
# ratio_floor_X = floor_X_rps / static_X_rps, the most ratio_X can be
# through this Caddy + libfcgi on this machine (no handler is cheaper than
# one that does nothing); signed_in_rps is /servers/new;
# static_rps is the mean of the two static runs; ratio_floor = healthz_rps /
# static_rps, the best ratio any dynamic route can reach through this
# Caddy + FastCGI path on this machine (bench/README.md); rss_kb is the largest
# worker VmHWM (peak RSS) after the load, rss_cur_kb the largest worker
# VmRSS then (argon2id's 64 MiB is spent in a short-lived child of the
# worker, so it is not in these figures). Targets (not enforced here): ratio >= 0.5,
# >= 3000 req/s, RSS < 10 MB.
#
# Knobs (environment): BENCH_PORT (first port tried, default 18743),
# BENCH_DURATION (seconds per measured run, default 10), BENCH_WARMUP
# (seconds, default 2), BENCH_THREADS (default 2), BENCH_CONNS (default 32),
# BENCH_KEEP=1 keeps the temp dir (logs) after the run.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"
# shellcheck source=deploy/stack.sh
. "$REPO/deploy/stack.sh"
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"

BUILD=$REPO/build
PORT0=${BENCH_PORT:-18743}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-32}
N_SERVERS=1000
N_ARTIFACTS=10000

for v in DURATION WARMUP THREADS CONNS; do
	[[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 && "${!v}" -le 600 ]] ||
		die "BENCH_$v must be an integer in 1..600"
done
[[ "$(id -u)" -eq 0 ]] || die "must run as root (the stack starts PostgreSQL as user keystone)"
for c in wrk curl psql caddy openssl awk ss; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found (run deploy/deps.sh)"
done
[[ -x "$BUILD/keystone.fcgi" && -x "$BUILD/keystonectl" && -x "$BUILD/bench/fcgi_floor" ]] ||
	die "$BUILD/keystone.fcgi, keystonectl or bench/fcgi_floor missing (run make all)"

# ------------------------------------------------------------- the stack

DIR=$(mktemp -d /tmp/ks-bench.XXXXXX)
STATIC=$DIR/static
stack_is_up=0

floor_pid=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n "$floor_pid" ]]; then
		kill -TERM "$floor_pid" 2>/dev/null || true
		wait "$floor_pid" 2>/dev/null || true
		floor_pid=
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

mkdir -p -- "$STATIC"
if [[ -d "$REPO/static" ]]; then
	cp -a -- "$REPO/static/." "$STATIC/"
fi
printf '<!doctype html><title>bench</title><p>Keystone bench static file.</p>\n' \
	>"$STATIC/bench.html"

PORT=$(stack_free_port "$PORT0")
BASE=https://localhost:$PORT
echo "=== stack: $DIR, $BASE (release build)"
stack_is_up=1
stack_up "$DIR" "$PORT" "$BUILD" "$STATIC" || die "could not bring up the stack"
CA=$(stack_caddy_ca "$DIR")
PGCONN=$(stack_pg_conninfo "$DIR")
CONF=$DIR/keystone.conf

kcurl() {
	curl -sS --max-time 30 --cacert "$CA" --resolve "localhost:$PORT:127.0.0.1" "$@"
}

# ------------------------------------------------------------- user, login

PW=$(openssl rand -hex 16)
printf '%s\n' "$PW" | "$BUILD/keystonectl" -c "$CONF" user add bench >/dev/null ||
	die "keystonectl user add bench failed"

hdr=$DIR/login.hdr
form=$DIR/login.html
kcurl -D "$hdr" -o "$form" "$BASE/login" || die "GET /login failed"
pre=$(awk 'tolower($1) == "set-cookie:" && index($2, "__Host-keystone-pre=") == 1 {
	v = substr($2, length("__Host-keystone-pre=") + 1); sub(/;.*/, "", v);
	gsub(/\r/, "", v); print v; exit }' "$hdr")
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$form" | head -n 1)
[[ -n "$pre" && -n "$csrf" ]] || die "no pre-session cookie or CSRF token on /login"

kcurl -D "$hdr" -o /dev/null -H "Cookie: __Host-keystone-pre=$pre" \
	--data-urlencode "csrf=$csrf" --data-urlencode "next=/" \
	--data-urlencode "username=bench" --data-urlencode "password=$PW" \
	"$BASE/login" || die "POST /login failed"
SESS=$(awk 'tolower($1) == "set-cookie:" && index($2, "__Host-keystone=") == 1 {
	v = substr($2, length("__Host-keystone=") + 1); sub(/;.*/, "", v);
	gsub(/\r/, "", v); print v; exit }' "$hdr")
[[ -n "$SESS" ]] || die "login failed (no session cookie; see $DIR/log/keystone.log)"
COOKIE="__Host-keystone=$SESS"
rm -f -- "$hdr" "$form"
echo "=== signed in as bench"

# ------------------------------------------------------------- seed data

echo "=== seeding $N_SERVERS servers, 1 application, 1 environment, $N_ARTIFACTS artifacts"
kpsql <<EOF
BEGIN;
INSERT INTO servers (name, address, ssh_port, ssh_user, role_build, role_runtime,
	status, host_key, host_key_sha256, host_key_pinned_at, created_at, updated_at)
SELECT format('srv-%s-%s', (ARRAY['web','db','cache','worker','edge'])[1 + g % 5],
		lpad(g::text, 4, '0')),
	format('10.%s.%s.%s', 1 + g / 65536, (g / 256) % 256, g % 256),
	22, 'keystone', g % 10 = 0, g % 10 <> 0,
	s.status,
	CASE WHEN s.status = 'active' THEN 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI' || md5('k' || g) END,
	CASE WHEN s.status = 'active' THEN 'SHA256:' || md5('h' || g) END,
	CASE WHEN s.status = 'active' THEN now() END,
	now() - g * interval '37 minutes', now()
FROM generate_series(1, $N_SERVERS) g
CROSS JOIN LATERAL (SELECT CASE WHEN g % 20 = 0 THEN 'unreachable'
	WHEN g % 25 = 1 THEN 'new' WHEN g % 50 = 2 THEN 'disabled'
	ELSE 'active' END AS status) s;

INSERT INTO applications (name, repository_url, default_branch)
VALUES ('bench-app', 'https://git.example.com/bench/bench-app.git', 'main');

INSERT INTO environments (application_id, name, branch)
SELECT id, 'production', 'main' FROM applications WHERE name = 'bench-app';

INSERT INTO build_artifacts (application_id, environment_id, registry_host, tag,
	manifest_digest, commit_sha, status, created_at, pruned_at)
SELECT e.application_id, e.id, 'registry.example.com',
	'registry.example.com/keystone/bench-app/production:' || a.sha,
	CASE WHEN a.status = 'building' THEN NULL ELSE 'sha256:' || a.digest END,
	a.sha, a.status,
	now() - a.g * interval '11 minutes',
	CASE WHEN a.status = 'pruned' THEN now() - a.g * interval '5 minutes' END
FROM environments e
JOIN applications ap ON ap.id = e.application_id AND ap.name = 'bench-app'
CROSS JOIN (
	SELECT g, md5('c' || g) || left(md5('d' || g), 8) AS sha,
		md5('m' || g) || md5('n' || g) AS digest,
		CASE WHEN g % 97 = 0 THEN 'failed' WHEN g % 101 = 0 THEN 'building'
			WHEN g % 53 = 0 THEN 'pruned' ELSE 'available' END AS status
	FROM generate_series(1, $N_ARTIFACTS) g) a
WHERE e.name = 'production';
COMMIT;
-- VACUUM too, not only ANALYZE: the steady state autovacuum would reach
-- soon after a bulk insert (visibility map set, so index-only scans).
VACUUM (ANALYZE);
EOF
APP_UUID=$(kpsql -c "SELECT uuid FROM applications WHERE name = 'bench-app'")
ENV_UUID=$(kpsql -c "SELECT e.uuid FROM environments e JOIN applications a
	ON a.id = e.application_id WHERE a.name = 'bench-app' AND e.name = 'production'")
counts=$(kpsql -F ' ' -c "SELECT (SELECT count(*) FROM servers),
	(SELECT count(*) FROM build_artifacts)")
[[ -n "$APP_UUID" && -n "$ENV_UUID" && "$counts" == "$N_SERVERS $N_ARTIFACTS" ]] ||
	die "seeding failed (counts: $counts)"

SERVERS_PATH=/servers
ARTIFACTS_PATH=/apps/$APP_UUID/envs/$ENV_UUID/artifacts

MASTER=$(<"$DIR/run/fcgi.pid")
# status_kb PID FIELD: a /proc/PID/status figure in kB (empty if gone).
status_kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || true
}
workers() {
	pgrep -P "$MASTER" -f keystone.fcgi || true
}
# The workers' peak RSS before the load (after the login), for comparison.
declare -A HWM0
while read -r pid; do
	[[ -n "$pid" ]] || continue
	HWM0[$pid]=$(status_kb "$pid" VmHWM)
done < <(workers)

# ------------------------------------------------------------- page sizes

# fetch PATH OUT: the page's body into OUT; prints its byte size. Fails
# unless the answer is a 200.
fetch() {
	local path=$1 out=$2 res code size
	res=$(kcurl -o "$out" -w '%{http_code} %{size_download}' \
		-H "Cookie: $COOKIE" "$BASE$path") || die "GET $path failed"
	read -r code size <<<"$res"
	[[ "$code" == 200 ]] || die "GET $path answered $code (expected 200)"
	printf '%s\n' "$size"
}

# filler FILE SIZE: an HTML-ish file of exactly SIZE bytes.
filler() {
	local file=$1 size=$2
	{
		printf '<!doctype html><html><head><title>bench</title></head><body>\n'
		yes '<tr><td><code>static filler row for the keystone benchmark</code></td></tr>' || true
	} | head -c "$size" >"$file"
	[[ "$(stat -c %s -- "$file")" == "$size" ]] || die "could not write $file"
}

servers_size=$(fetch "$SERVERS_PATH" "$DIR/servers.html")
artifacts_size=$(fetch "$ARTIFACTS_PATH" "$DIR/artifacts.html")
grep -q 'in all' "$DIR/servers.html" || die "/servers does not look like the list page"
rm -f -- "$DIR/servers.html" "$DIR/artifacts.html"
filler "$STATIC/bench-servers.html" "$servers_size"
filler "$STATIC/bench-artifacts.html" "$artifacts_size"
for f in bench-servers bench-artifacts; do
	code=$(kcurl -o /dev/null -w '%{http_code} %{size_download}' "$BASE/static/$f.html")
	want=$([[ $f == bench-servers ]] && echo "$servers_size" || echo "$artifacts_size")
	[[ "$code" == "200 $want" ]] || die "/static/$f.html answered '$code' (want '200 $want')"
done
echo "=== page sizes: servers $servers_size B, artifacts $artifacts_size B"

# /healthz is public: it must answer "ok" without the session cookie.
HEALTHZ_PATH=/healthz
check_healthz() {
	local res
	res=$(kcurl -o "$DIR/healthz.txt" -w '%{http_code} %{size_download}' \
		"$BASE$HEALTHZ_PATH") || die "GET $HEALTHZ_PATH failed"
	[[ "$res" == "200 3" && "$(<"$DIR/healthz.txt")" == ok ]] ||
		die "GET $HEALTHZ_PATH answered '$res' (want '200 3', body \"ok\")"
	rm -f -- "$DIR/healthz.txt"
}
check_healthz
healthz_size=3

# ------------------------------------------------------------- the floor

# The floor responder gets as many workers as keystone.fcgi has.
NWORKERS=$(awk -F' *= *' '$1 == "workers" { print $2 }' "$CONF")
[[ "$NWORKERS" =~ ^[0-9]+$ ]] || NWORKERS=2
FPORT=$(stack_free_port $((PORT + 4)))
"$BUILD/bench/fcgi_floor" "$DIR/run/floor.sock" "$NWORKERS" \
	>"$DIR/log/floor.log" 2>&1 </dev/null &
floor_pid=$!
for ((i = 0; i < 100; i++)); do
	[[ -S "$DIR/run/floor.sock" ]] && break
	sleep 0.05
done
[[ -S "$DIR/run/floor.sock" ]] || die "fcgi_floor did not start (see $DIR/log/floor.log)"
# Its own site in the directory the stack's Caddyfile imports, loaded
# through Caddy's admin socket: the same Caddy process serves both.
cat >"$DIR/caddy-sites/bench-floor.caddy" <<EOF
# bench/pages.sh: the floor responder (bench/fcgi_floor.c).
https://localhost:$FPORT {
	bind 127.0.0.1
	tls internal
	reverse_proxy unix/$DIR/run/floor.sock {
		transport fastcgi {
			root /nonexistent
		}
	}
}
EOF
res=$(curl -sS --max-time 30 --unix-socket "$DIR/run/caddy-admin.sock" -H 'Host: ' \
	-H 'Content-Type: text/caddyfile' --data-binary "@$DIR/Caddyfile" \
	-o /dev/null -w '%{http_code}' http://localhost/load) || res=
[[ "$res" == 200 ]] || die "Caddy did not load the floor site (answer '$res')"
FBASE=https://localhost:$FPORT
for n in "$servers_size" "$artifacts_size"; do
	res=
	for ((i = 0; i < 50; i++)); do
		res=$(curl -sS --max-time 10 --cacert "$CA" \
			--resolve "localhost:$FPORT:127.0.0.1" -o /dev/null \
			-w '%{http_code} %{size_download}' "$FBASE/floor?n=$n" 2>/dev/null) || res=
		[[ "$res" == "200 $n" ]] && break
		sleep 0.1
	done
	[[ "$res" == "200 $n" ]] || die "floor answered '$res' for n=$n (want '200 $n')"
done
SIGNED_IN_PATH=/servers/new
fetch "$SIGNED_IN_PATH" /dev/null >/dev/null
echo "=== floor: fcgi_floor x$NWORKERS at $FBASE"

# --------------------------------------------------------------------- wrk

# wrk's duration to ms: "850.00us", "12.34ms", "1.20s", "1.00m".
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000;
		else if (u == "m") n *= 60000; else if (u == "h") n *= 3600000;
		else if (u != "ms") { print "nan"; exit }
		printf "%.2f\n", n }'
}

# run_wrk NAME URL [COOKIE]: a warm-up, then the measured run; sets
# RPS, P50, P99, ERRS and BPR (wire bytes per response) for NAME.
declare -A RPS P99 P50 ERRS BPR
run_wrk() {
	local name=$1 url=$2 out=$DIR/wrk-$1.txt hdr=()
	if [[ -n "${3:-}" ]]; then
		hdr=(-H "Cookie: $3")
	fi
	timeout --foreground -k 5 $((WARMUP + 30)) \
		wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "${hdr[@]}" "$url" \
		>/dev/null || die "wrk warm-up on $url failed"
	timeout --foreground -k 5 $((DURATION + 30)) \
		wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "${hdr[@]}" \
		"$url" >"$out" || die "wrk on $url failed (see $out)"
	local rps p50 p99 reqs bytes errs
	rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$out")
	p50=$(awk '$1 == "50%" { print $2; exit }' "$out")
	p99=$(awk '$1 == "99%" { print $2; exit }' "$out")
	reqs=$(awk '/ requests in / { print $1; exit }' "$out")
	# "123 requests in 10.00s, 45.67MB read"
	bytes=$(awk '/ requests in / { v = $(NF - 1); u = v; sub(/^[0-9.]+/, "", u);
		n = v + 0; if (u == "KB") n *= 1024; else if (u == "MB") n *= 1048576;
		else if (u == "GB") n *= 1073741824; printf "%.0f\n", n; exit }' "$out")
	errs=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
		/Socket errors:/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i + 0 }
		END { print n + 0 }' "$out")
	[[ -n "$rps" && -n "$p99" && -n "$reqs" ]] || die "cannot parse wrk output for $url (see $out)"
	RPS[$name]=$(printf '%.0f' "$rps")
	P50[$name]=$(to_ms "$p50")
	P99[$name]=$(to_ms "$p99")
	ERRS[$name]=$errs
	BPR[$name]=$(( reqs > 0 ? bytes / reqs : 0 ))
}

echo "=== wrk: -t$THREADS -c$CONNS, ${WARMUP}s warm-up + ${DURATION}s per target"
run_wrk servers "$BASE$SERVERS_PATH" "$COOKIE"
run_wrk artifacts "$BASE$ARTIFACTS_PATH" "$COOKIE"
run_wrk healthz "$BASE$HEALTHZ_PATH"
run_wrk signed_in "$BASE$SIGNED_IN_PATH" "$COOKIE"
run_wrk static_servers "$BASE/static/bench-servers.html"
run_wrk static_artifacts "$BASE/static/bench-artifacts.html"
run_wrk floor_servers "$FBASE/floor?n=$servers_size"
run_wrk floor_artifacts "$FBASE/floor?n=$artifacts_size"

# A page that turned into a redirect (session lost) would still count as a
# fast answer: check that the session still serves the pages.
for p in "$SERVERS_PATH" "$ARTIFACTS_PATH"; do
	fetch "$p" /dev/null >/dev/null
done
check_healthz

# --------------------------------------------------------------------- RSS

master_kb=$(status_kb "$MASTER" VmHWM)
# Most of the master's RSS is shared library pages it mapped at start
# (libpq alone pulls in Kerberos, LDAP and GnuTLS); its own memory is the
# anonymous part. Workers are forked after that, so their figures count
# only the pages they touch themselves.
master_anon_kb=$(status_kb "$MASTER" RssAnon)
master_file_kb=$(status_kb "$MASTER" RssFile)
worker_rows=()
rss_kb=0
rss_cur_kb=0
while read -r pid; do
	[[ -n "$pid" ]] || continue
	kb=$(status_kb "$pid" VmHWM)
	cur=$(status_kb "$pid" VmRSS)
	[[ -n "$kb" && -n "$cur" ]] || continue
	worker_rows+=("$pid $kb $cur ${HWM0[$pid]:--}")
	if ((kb > rss_kb)); then
		rss_kb=$kb
	fi
	if ((cur > rss_cur_kb)); then
		rss_cur_kb=$cur
	fi
done < <(workers)
((${#worker_rows[@]} > 0)) || die "no keystone.fcgi worker found under pid $MASTER"

# Stop the stack now, so that whatever it reports on the way down comes
# before the report and the figures stay the last line.
echo "=== stack: stopping"
kill -TERM "$floor_pid" 2>/dev/null || true
wait "$floor_pid" 2>/dev/null || true
floor_pid=
stack_is_up=0
stack_down "$DIR" || echo "bench: stack_down reported an error" >&2

# ------------------------------------------------------------------ report

ratio_servers=$(ratio "${RPS[servers]}" "${RPS[static_servers]}")
ratio_artifacts=$(ratio "${RPS[artifacts]}" "${RPS[static_artifacts]}")
static_rps=$(( (RPS[static_servers] + RPS[static_artifacts]) / 2 ))
ratio_floor=$(ratio "${RPS[healthz]}" "$static_rps")
ratio_floor_servers=$(ratio "${RPS[floor_servers]}" "${RPS[static_servers]}")
ratio_floor_artifacts=$(ratio "${RPS[floor_artifacts]}" "${RPS[static_artifacts]}")

echo
printf '%-18s %-44s %9s %10s %10s %10s %8s\n' target path bytes req/s p50_ms p99_ms errors
for row in "servers $SERVERS_PATH $servers_size" \
	"artifacts /apps/APP/envs/ENV/artifacts $artifacts_size" \
	"healthz $HEALTHZ_PATH $healthz_size" \
	"signed_in $SIGNED_IN_PATH -" \
	"static_servers /static/bench-servers.html $servers_size" \
	"static_artifacts /static/bench-artifacts.html $artifacts_size" \
	"floor_servers floor:/floor?n=$servers_size $servers_size" \
	"floor_artifacts floor:/floor?n=$artifacts_size $artifacts_size"; do
	read -r n p s <<<"$row"
	printf '%-18s %-44s %9s %10s %10s %10s %8s\n' "$n" "$p" "$s" "${RPS[$n]}" \
		"${P50[$n]}" "${P99[$n]}" "${ERRS[$n]}"
done
echo
printf 'wire bytes/response (headers + body, from wrk): servers %s, artifacts %s, healthz %s, static %s / %s\n' \
	"${BPR[servers]}" "${BPR[artifacts]}" "${BPR[healthz]}" "${BPR[static_servers]}" \
	"${BPR[static_artifacts]}"
printf 'ratio dynamic/static (same size): servers %s, artifacts %s\n' \
	"$ratio_servers" "$ratio_artifacts"
printf 'floor (a FastCGI answer of the same size with no work behind it, same Caddy):\n'
printf '       floor/static: servers size %s, artifacts size %s (the most ratio_X can be here)\n' \
	"$ratio_floor_servers" "$ratio_floor_artifacts"
printf '       page/floor: servers %s, artifacts %s (the share of the floor the pages reach)\n' \
	"$(ratio "${RPS[servers]}" "${RPS[floor_servers]}")" \
	"$(ratio "${RPS[artifacts]}" "${RPS[floor_artifacts]}")"
printf '       healthz/static %s (3 bytes); signed_in %s req/s (session + small page, no list)\n' \
	"$ratio_floor" "${RPS[signed_in]}"
printf 'keystone.fcgi master: VmHWM %s kB (now RssAnon %s kB, RssFile %s kB: shared libraries)\n' \
	"$master_kb" "$master_anon_kb" "$master_file_kb"
for w in "${worker_rows[@]}"; do
	read -r pid kb cur kb0 <<<"$w"
	printf 'keystone.fcgi worker %s: VmHWM %s kB after the load (%s kB before it), VmRSS now %s kB\n' \
		"$pid" "$kb" "$kb0" "$cur"
done
for n in servers artifacts healthz signed_in static_servers static_artifacts \
	floor_servers floor_artifacts; do
	if ((ERRS[$n] > 0)); then
		echo "bench: warning: $n had ${ERRS[$n]} errors or non-2xx answers (see wrk output)" >&2
	fi
done
echo "servers_rps=${RPS[servers]} servers_p99_ms=${P99[servers]}" \
	"artifacts_rps=${RPS[artifacts]} artifacts_p99_ms=${P99[artifacts]}" \
	"static_servers_rps=${RPS[static_servers]} static_servers_p99_ms=${P99[static_servers]}" \
	"static_artifacts_rps=${RPS[static_artifacts]} static_artifacts_p99_ms=${P99[static_artifacts]}" \
	"static_rps=$static_rps ratio_servers=$ratio_servers ratio_artifacts=$ratio_artifacts" \
	"rss_kb=$rss_kb rss_cur_kb=$rss_cur_kb master_rss_kb=$master_kb" \
	"master_anon_kb=$master_anon_kb" \
	"healthz_rps=${RPS[healthz]} healthz_p99_ms=${P99[healthz]} ratio_floor=$ratio_floor" \
	"floor_servers_rps=${RPS[floor_servers]} floor_artifacts_rps=${RPS[floor_artifacts]}" \
	"ratio_floor_servers=$ratio_floor_servers ratio_floor_artifacts=$ratio_floor_artifacts" \
	"signed_in_rps=${RPS[signed_in]}"
