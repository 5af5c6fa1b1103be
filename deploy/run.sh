#!/usr/bin/env bash
# `make run`: starts the local Keystone stack under var/ (data kept between
# runs) on https://localhost:${KEYSTONE_PORT:-8443}, creates the admin user on
# first run, and stays in the foreground until Ctrl-C / SIGTERM, which stop
# everything cleanly.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=deploy/stack.sh
. "$REPO/deploy/stack.sh"

DIR=$REPO/var
PORT=${KEYSTONE_PORT:-8443}
BUILD=$REPO/build
STATIC=$REPO/static

if [[ "$(id -u)" -ne 0 ]]; then
	echo "run: must run as root (it starts PostgreSQL as user keystone)" >&2
	exit 1
fi
for prog in keystone.fcgi keystonectl; do
	if [[ ! -x "$BUILD/$prog" ]]; then
		echo "run: $BUILD/$prog missing: run 'make' first" >&2
		exit 1
	fi
done

stopped=0
sleeper=
shutdown() {
	if [[ -n "$sleeper" ]]; then
		kill "$sleeper" 2>/dev/null || true
	fi
	if ((stopped == 0)); then
		stopped=1
		echo "Stopping Keystone..."
		# The registry's container belongs to this stack too (the engine
		# may not: stack_down stops it only if it started it); one that
		# another data directory owns is left alone.
		if stack_registry_is_ours "$DIR"; then
			docker stop "$(stack_registry_name "$DIR")" >/dev/null 2>&1 || true
		fi
		stack_down "$DIR" || true
	fi
}
trap 'shutdown' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p -- "$DIR"
stack_up "$DIR" "$PORT" "$BUILD" "$STATIC"

# The managed registry: a Docker engine, the registry:2 image (built here
# from Debian's docker-registry: this machine pulls from no public
# registry), then provisioning by the spooler on the first run.
registry_note=
if stack_engine_start "$DIR" && bash "$REPO/deploy/registry-image.sh" >/dev/null; then
	registry_note=$(stack_registry_up "$DIR" "$BUILD" 2>&1 >/dev/null) || true
else
	registry_note="no Docker engine or registry image; see $DIR/log/dockerd.log"
fi

pwfile=$DIR/admin-password
new_password=
if [[ ! -e "$pwfile" ]]; then
	tmp=$pwfile.tmp.$$
	if (umask 077 && "$BUILD/keystonectl" -c "$DIR/keystone.conf" \
		user add admin --admin --generate >"$tmp"); then
		new_password=$(head -n 1 -- "$tmp")
		mv -f -- "$tmp" "$pwfile"
	else
		rm -f -- "$tmp"
		echo "run: could not create user admin (it may already exist while" \
			"$pwfile is missing; reset its password with build/keystonectl)" >&2
	fi
fi

URL="https://localhost:$PORT"
echo
if [[ -n "$new_password" ]]; then
	echo "Keystone is running at $URL  (user: admin, password: $new_password)"
	echo "The admin password is saved in $pwfile"
else
	echo "Keystone is running at $URL  (admin password: see $pwfile)"
fi
echo "Caddy's local root CA (trust it in your browser): $(stack_caddy_ca "$DIR")"
echo "Managed registry: https://$(sed -n 's/^registry_host = //p' "$DIR/keystone.conf")" \
	"(state on the Registry page)${registry_note:+ - $registry_note}"
echo "Logs: $DIR/log/   Stop with Ctrl-C."

# Foreground until a signal, or until a component dies on its own.
while true; do
	sleep 2 &
	sleeper=$!
	wait "$sleeper" || true
	sleeper=
	if ! _stack_pid_alive "$DIR/run/fcgi.pid" keystone.fcgi; then
		echo "run: keystone.fcgi exited; see $DIR/log/keystone.log" >&2
		exit 1
	fi
	if ! _stack_pid_alive "$DIR/run/caddy.pid" "$DIR/Caddyfile"; then
		echo "run: Caddy exited; see $DIR/log/caddy.log" >&2
		exit 1
	fi
done
