#!/usr/bin/env bash
# Login timing (after `make all`): does a refused sign-in tell whether the
# username exists? Compares the server's time to refuse an unknown username
# with its time to refuse a known username with a wrong password.
#
#   1. a throwaway stack (PostgreSQL + RELEASE keystone.fcgi + Caddy) in a
#      temp dir;
#   2. a user "bench" (keystonectl user add); one pre-session cookie and
#      its CSRF token from GET /login (both stay valid for every POST);
#   3. a warm-up, then BENCH_LOGINS pairs of POST /login over HTTPS on
#      loopback (curl), interleaved so drift hits both kinds alike: an
#      unknown username (a new random one each time) and "bench" with a
#      wrong password; every answer must be the 401 refusal;
#   4. login_attempts is emptied (outside the timed requests) every 40
#      attempts, so neither throttle (100 failures per name, 1000 per
#      address an hour) is ever reached.
#
# Each sample is curl's time_total - time_pretransfer: from the request
# being sent (after the TLS handshake) to the end of the answer (the same
# small login page for both kinds), i.e. the server's work: Caddy, FastCGI,
# the database, the argon2id child. (curl 7.88 sets time_starttransfer
# when a POST's upload starts, so that figure cannot be used here.)
# Prints the figures per kind, then as its LAST line one line of key=value
# figures:
#   ratio unknown_ms known_wrong_ms ratio_mean unknown_mean_ms
#   known_wrong_mean_ms unknown_p90_ms known_wrong_p90_ms n
# ratio = median(unknown) / median(known_wrong); target 0.9-1.1 (the same
# work: one argon2id verification each, lib/web/pw.c).
#
# Knobs (environment): BENCH_PORT (first port tried, default 18843),
# BENCH_LOGINS (pairs measured, 1..500, default 60), BENCH_WARMUP (pairs
# not measured, 0..50, default 5), BENCH_KEEP=1 keeps the temp dir (logs).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"
# shellcheck source=deploy/stack.sh
. "$REPO/deploy/stack.sh"
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"

BUILD=$REPO/build
PORT0=${BENCH_PORT:-18843}
LOGINS=${BENCH_LOGINS:-60}
WARMUP=${BENCH_WARMUP:-5}
CLEAR_EVERY=40

[[ "$LOGINS" =~ ^[0-9]+$ && "$LOGINS" -ge 1 && "$LOGINS" -le 500 ]] ||
	die "BENCH_LOGINS must be an integer in 1..500"
[[ "$WARMUP" =~ ^[0-9]+$ && "$WARMUP" -le 50 ]] ||
	die "BENCH_WARMUP must be an integer in 0..50"
[[ "$(id -u)" -eq 0 ]] || die "must run as root (the stack starts PostgreSQL as user keystone)"
for c in curl psql caddy openssl awk ss sort; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found (run deploy/deps.sh)"
done
[[ -x "$BUILD/keystone.fcgi" && -x "$BUILD/keystonectl" ]] ||
	die "$BUILD/keystone.fcgi or keystonectl missing (run make all)"

# ------------------------------------------------------------- the stack

DIR=$(mktemp -d /tmp/ks-bench-login.XXXXXX)
stack_is_up=0

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
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

PORT=$(stack_free_port "$PORT0")
BASE=https://localhost:$PORT
echo "=== stack: $DIR, $BASE (release build)"
stack_is_up=1
stack_up "$DIR" "$PORT" "$BUILD" "$REPO/static" || die "could not bring up the stack"
CA=$(stack_caddy_ca "$DIR")
PGCONN=$(stack_pg_conninfo "$DIR")
CONF=$DIR/keystone.conf

kcurl() {
	curl -sS --max-time 30 --cacert "$CA" --resolve "localhost:$PORT:127.0.0.1" "$@"
}

# ------------------------------------------------------------- user, form

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
rm -f -- "$hdr" "$form"

# attempt USER PASSWORD: one POST /login; prints the server's time in ms.
# Fails unless the answer is the 401 refusal.
attempt() {
	local res code t
	res=$(kcurl -o /dev/null -H "Cookie: __Host-keystone-pre=$pre" \
		--data-urlencode "csrf=$csrf" --data-urlencode "next=/" \
		--data-urlencode "username=$1" --data-urlencode "password=$2" \
		-w '%{http_code} %{time_pretransfer} %{time_total}' \
		"$BASE/login") || die "POST /login failed"
	read -r code t <<<"$(awk '{ printf "%s %.3f\n", $1, ($3 - $2) * 1000 }' <<<"$res")"
	[[ "$code" == 401 ]] ||
		die "POST /login for '$1' answered $code (want 401; see $DIR/log/keystone.log, BENCH_KEEP=1)"
	printf '%s\n' "$t"
}

# ------------------------------------------------------------- measure

UNK=$DIR/unknown.ms
KNOWN=$DIR/known_wrong.ms
: >"$UNK"
: >"$KNOWN"
echo "=== $WARMUP warm-up pairs, then $LOGINS measured pairs (unknown user / known user, wrong password)"
n=0
for ((i = 0; i < WARMUP + LOGINS; i++)); do
	if ((n + 2 > CLEAR_EVERY)); then
		kpsql -c "DELETE FROM login_attempts" || die "could not empty login_attempts"
		n=0
	fi
	wrong=$(openssl rand -hex 12)
	# Alternate which kind goes first, so neither always follows the other.
	if ((i % 2 == 0)); then
		u=$(attempt "nobody-$(openssl rand -hex 6)" "$wrong")
		k=$(attempt bench "$wrong")
	else
		k=$(attempt bench "$wrong")
		u=$(attempt "nobody-$(openssl rand -hex 6)" "$wrong")
	fi
	n=$((n + 2))
	if ((i >= WARMUP)); then
		printf '%s\n' "$u" >>"$UNK"
		printf '%s\n' "$k" >>"$KNOWN"
	fi
done
# The right password still signs in: the figures were not of a broken login.
code=$(kcurl -o /dev/null -w '%{http_code}' -H "Cookie: __Host-keystone-pre=$pre" \
	--data-urlencode "csrf=$csrf" --data-urlencode "next=/" \
	--data-urlencode "username=bench" --data-urlencode "password=$PW" \
	"$BASE/login") || die "POST /login failed"
[[ "$code" == 303 ]] || die "the right password answered $code (want 303)"

echo "=== stack: stopping"
stack_is_up=0
stack_down "$DIR" || echo "bench: stack_down reported an error" >&2

# ------------------------------------------------------------------ report

# stats FILE: "median mean p90 min max" in ms.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1; s += $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
		p = int(NR * 0.9 + 0.999); if (p < 1) p = 1; if (p > NR) p = NR;
		printf "%.1f %.1f %.1f %.1f %.1f\n", m, s / NR, v[p], v[1], v[NR] }'
}
read -r u_med u_mean u_p90 u_min u_max <<<"$(stats "$UNK")"
read -r k_med k_mean k_p90 k_min k_max <<<"$(stats "$KNOWN")"
r_med=$(ratio "$u_med" "$k_med")
r_mean=$(ratio "$u_mean" "$k_mean")

echo
printf '%-12s %8s %8s %8s %8s %8s %6s\n' kind median_ms mean_ms p90_ms min_ms max_ms n
printf '%-12s %8s %8s %8s %8s %8s %6s\n' unknown "$u_med" "$u_mean" "$u_p90" "$u_min" "$u_max" "$LOGINS"
printf '%-12s %8s %8s %8s %8s %8s %6s\n' known_wrong "$k_med" "$k_mean" "$k_p90" "$k_min" "$k_max" "$LOGINS"
printf 'ratio unknown/known_wrong: median %s, mean %s (target 0.9-1.1)\n' "$r_med" "$r_mean"
echo "ratio=$r_med unknown_ms=$u_med known_wrong_ms=$k_med ratio_mean=$r_mean" \
	"unknown_mean_ms=$u_mean known_wrong_mean_ms=$k_mean unknown_p90_ms=$u_p90" \
	"known_wrong_p90_ms=$k_p90 n=$LOGINS"
