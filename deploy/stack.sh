# shellcheck shell=bash
# Keystone local stack: PostgreSQL (unix socket only), the FastCGI program and
# Caddy in front of it, all kept under one directory DIR. Sourced, not run:
#
#   . deploy/stack.sh
#   stack_up DIR PORT BUILD STATIC_DIR      ...      stack_down DIR
#
# Used by `make run` (DIR = var/, kept) and by the tests (DIR = a temp dir).
# Everything listens on loopback or on unix sockets only. The functions
# return non-zero with a message on stderr when something fails; they work
# whether or not the caller has `set -e` on.
#
# Layout under DIR:
#   pg/data pg/run          PostgreSQL cluster and its socket (user keystone)
#   keystone.conf master.key   configuration (0600)
#   run/                    keystone.sock, fcgi.pid, caddy.pid
#   log/                    keystone.log, caddy.log, postgres.log, sanitizer logs
#   caddy/                  Caddy storage (its local CA: caddy/pki/authorities/local)
#   Caddyfile

_STACK_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
_STACK_USER=keystone
_STACK_PGPORT=5432

_stack_err() {
	printf 'stack: %s\n' "$*" >&2
}

# Ports a run holds (tests/run.sh, bench/*.sh): a directory per port under
# _STACK_PORTS_DIR, made with mkdir (atomic) and naming the run's pid, so
# that two runs on one machine never pick the same port before either
# listens on it (registry:2's port is bound only at provisioning). A dead
# run's reservations are taken.
_STACK_PORTS_DIR=/run/ks-test-ports
_stack_reserve_port() {
	local d=$_STACK_PORTS_DIR/$1 pid
	mkdir -p -- "$_STACK_PORTS_DIR" || return 1
	if ! mkdir -- "$d" 2>/dev/null; then
		pid=$(cat -- "$d/pid" 2>/dev/null) || pid=
		if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		rm -rf -- "$d" && mkdir -- "$d" 2>/dev/null || return 1
	fi
	echo "$$" >"$d/pid"
}

# stack_free_port FROM: a TCP port with nothing listening on it nor on the
# next one (Caddy's http_port), on any address, from FROM on, reserved for
# this run (this shell's $$) until stack_release_ports.
stack_free_port() {
	local p
	for ((p = $1; p < $1 + 200; p += 2)); do
		if [[ -z "$(ss -Hltn "( sport = :$p or sport = :$((p + 1)) )")" ]] &&
			_stack_reserve_port "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	_stack_err "no free port from $1"
	return 1
}

stack_release_ports() {
	local d
	for d in "$_STACK_PORTS_DIR"/*; do
		if [[ -d "$d" && "$(cat -- "$d/pid" 2>/dev/null)" == "$$" ]]; then
			rm -rf -- "$d"
		fi
	done
	return 0
}

# Absolute path of $1 (which need not exist yet).
_stack_abs() {
	realpath -m -- "$1"
}

# Paths end up in a Caddyfile, a libpq conninfo string and postgresql.conf:
# accept only characters that need no quoting in any of them.
_stack_check_path() {
	if [[ -z "$1" || ! "$1" =~ ^[A-Za-z0-9._/+-]+$ ]]; then
		_stack_err "unsupported path '$1' (use letters, digits and ._/+- only)"
		return 1
	fi
}

_stack_check_port() {
	if [[ ! "$1" =~ ^[0-9]+$ ]] || (($1 < 1024 || $1 > 65534)); then
		_stack_err "bad port '$1' (1024-65534)"
		return 1
	fi
}

# True if process PID exists and is not a zombie (an orphan's exit status may
# wait a while for init; kill -0 would still succeed on it).
_stack_proc_alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ -n "$st" && "$st" != Z* ]]
}

# True if any live (non-zombie) process is in process group PGID.
_stack_group_alive() {
	ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}

# True if the pid in PIDFILE is alive and its command line contains PATTERN.
_stack_pid_alive() {
	local pidfile=$1 pattern=$2 pid
	[[ -f "$pidfile" ]] || return 1
	pid=$(<"$pidfile")
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	_stack_proc_alive "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern"
}

# Stops the process in PIDFILE (and its process group: the stack starts each
# daemon in its own session) with SIGTERM, then SIGKILL after SECS seconds.
_stack_kill_pidfile() {
	local pidfile=$1 pattern=$2 secs=$3 pid i
	if ! _stack_pid_alive "$pidfile" "$pattern"; then
		rm -f -- "$pidfile"
		return 0
	fi
	pid=$(<"$pidfile")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		_stack_proc_alive "$pid" || break
		sleep 0.1
	done
	if _stack_proc_alive "$pid"; then
		_stack_err "pid $pid ($pattern) ignored SIGTERM for ${secs}s: killing it"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	# Anything left in its process group (workers whose parent died).
	for ((i = 0; i < 20; i++)); do
		_stack_group_alive "$pid" || break
		if ((i == 10)); then
			kill -KILL -- "-$pid" 2>/dev/null || true
		fi
		sleep 0.1
	done
	rm -f -- "$pidfile"
}

# Starts a command in its own session (so a terminal ^C reaches only the
# script, which then stops everything in order), output appended to LOG, pid
# written to PIDFILE by the process itself (setsid forks when the caller has
# job control, so $! would not be it). Sets _STACK_BGPID.
_stack_spawn() {
	local log=$1 pidfile=$2 i
	shift 2
	rm -f -- "$pidfile"
	# shellcheck disable=SC2016 # expanded by the inner shell
	setsid bash -c 'echo "$$" >"$0.tmp" && mv -f -- "$0.tmp" "$0" && exec "$@"' \
		"$pidfile" "$@" >>"$log" 2>&1 </dev/null &
	for ((i = 0; i < 100; i++)); do
		if [[ -s "$pidfile" ]]; then
			_STACK_BGPID=$(<"$pidfile")
			return 0
		fi
		sleep 0.05
	done
	_stack_err "could not start $1"
	return 1
}

_stack_ensure_user() {
	if ! id -u "$_STACK_USER" >/dev/null 2>&1; then
		useradd --system --user-group --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$_STACK_USER" || {
			_stack_err "cannot create system user $_STACK_USER"
			return 1
		}
	fi
}

# Creates DIR, DIR/run and DIR/log. DIR and DIR/log get group keystone with
# search permission so PostgreSQL and the web workers (user keystone) can
# reach DIR/pg and write to DIR/log; under DIR they read only ca.crt and
# ssh/keystone_ed25519.pub besides.
_stack_dirs() {
	local dir=$1
	if [[ "$(id -u)" -ne 0 ]]; then
		_stack_err "the local stack must be started as root"
		return 1
	fi
	_stack_ensure_user || return 1
	mkdir -p -- "$dir" "$dir/run" "$dir/log" || return 1
	chmod 0700 -- "$dir/run" || return 1
	chgrp "$_STACK_USER" -- "$dir" "$dir/log" || return 1
	chmod g+x,g-w,o-rwx -- "$dir" || return 1
	# The web workers (user keystone) write their sanitizer reports here.
	chmod 0770 -- "$dir/log" || return 1
	if ! runuser -u "$_STACK_USER" -- test -x "$dir/log"; then
		_stack_err "user $_STACK_USER cannot reach $dir: a parent directory blocks it"
		return 1
	fi
}

# ---------------------------------------------------------------- PostgreSQL

stack_find_pgbin() {
	local best
	best=$(printf '%s\n' /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n 1)
	if [[ ! -x "$best" ]]; then
		_stack_err "no PostgreSQL server found under /usr/lib/postgresql (run deploy/deps.sh)"
		return 1
	fi
	printf '%s\n' "${best%/pg_ctl}"
}

stack_pg_conninfo() {
	local dir
	dir=$(_stack_abs "$1") || return 1
	printf 'host=%s dbname=keystone user=keystone\n' "$dir/pg/run"
}

# Runs a PostgreSQL command as the keystone user, from a directory it can read.
_stack_pg_as() {
	(cd / && runuser -u "$_STACK_USER" -- "$@")
}

_stack_pg_running() {
	local dir=$1 pgbin
	[[ -f "$dir/pg/data/PG_VERSION" ]] || return 1
	pgbin=$(stack_find_pgbin) || return 1
	_stack_pg_as "$pgbin/pg_ctl" status -D "$dir/pg/data" >/dev/null 2>&1
}

stack_pg_start() {
	local dir pgbin data run log fsync=on
	[[ $# -eq 1 ]] || { _stack_err "usage: stack_pg_start DIR"; return 2; }
	dir=$(_stack_abs "$1") || return 1
	_stack_check_path "$dir" || return 1
	_stack_dirs "$dir" || return 1
	pgbin=$(stack_find_pgbin) || return 1
	data=$dir/pg/data
	run=$dir/pg/run
	log=$dir/log/postgres.log

	if _stack_pg_running "$dir"; then
		return 0
	fi

	mkdir -p -- "$dir/pg" "$run" || return 1
	chown "$_STACK_USER:$_STACK_USER" -- "$dir/pg" "$run" || return 1
	chmod 0700 -- "$dir/pg" || return 1
	chmod 0750 -- "$run" || return 1
	touch -- "$log" || return 1
	chown "$_STACK_USER:$_STACK_USER" -- "$log" || return 1
	chmod 0640 -- "$log" || return 1

	if [[ ! -f "$data/PG_VERSION" ]]; then
		rm -rf -- "$data"
		if ! _stack_pg_as "$pgbin/initdb" -D "$data" -U "$_STACK_USER" \
			--auth-local=trust --auth-host=reject \
			--encoding=UTF8 --no-locale >>"$log" 2>&1; then
			_stack_err "initdb failed; see $log"
			tail -n 20 -- "$log" >&2
			return 1
		fi
		# Unix socket only: no host lines at all.
		printf '%s\n' '# Keystone local stack: unix socket, trust.' \
			'local all all trust' >"$data/pg_hba.conf" || return 1
		printf '%s\n' '' '# Keystone local stack (deploy/stack.sh)' \
			"include_if_exists = 'keystone-stack.conf'" >>"$data/postgresql.conf" || return 1
	fi

	# Rewritten at every start: the socket path follows DIR, fsync follows KS_TEST.
	if [[ "${KS_TEST:-}" == 1 ]]; then
		fsync=off
	fi
	{
		printf '%s\n' "# Written by deploy/stack.sh at each start; do not edit."
		printf "listen_addresses = ''\n"
		printf "port = %s\n" "$_STACK_PGPORT"
		printf "unix_socket_directories = '%s'\n" "$run"
		printf "unix_socket_permissions = 0770\n"
		printf "fsync = %s\n" "$fsync"
		if [[ "$fsync" == off ]]; then
			printf "synchronous_commit = off\n"
			printf "full_page_writes = off\n"
		fi
	} >"$data/keystone-stack.conf" || return 1
	chown "$_STACK_USER:$_STACK_USER" -- "$data/pg_hba.conf" "$data/keystone-stack.conf" || return 1

	if ! _stack_pg_as "$pgbin/pg_ctl" start -D "$data" -w -t 60 -l "$log" >/dev/null; then
		_stack_err "PostgreSQL did not start; see $log"
		tail -n 20 -- "$log" >&2
		return 1
	fi

	local have
	have=$("$pgbin/psql" -X -q -At -d "host=$run dbname=postgres user=$_STACK_USER" \
		-c "SELECT 1 FROM pg_database WHERE datname = 'keystone'") || {
		_stack_err "cannot query PostgreSQL at $run"
		return 1
	}
	if [[ "$have" != 1 ]]; then
		"$pgbin/createdb" -h "$run" -p "$_STACK_PGPORT" -U "$_STACK_USER" \
			-O "$_STACK_USER" -E UTF8 keystone || {
			_stack_err "createdb keystone failed"
			return 1
		}
	fi
}

stack_pg_stop() {
	local dir pgbin
	[[ $# -eq 1 ]] || { _stack_err "usage: stack_pg_stop DIR"; return 2; }
	dir=$(_stack_abs "$1") || return 1
	_stack_pg_running "$dir" || return 0
	pgbin=$(stack_find_pgbin) || return 1
	_stack_pg_as "$pgbin/pg_ctl" stop -D "$dir/pg/data" -m fast -w -t 60 >/dev/null || {
		_stack_err "pg_ctl stop failed"
		return 1
	}
}

# ------------------------------------------------------------- configuration

stack_write_config() {
	local dir port build conf tmp daemon_json
	[[ $# -eq 3 ]] || { _stack_err "usage: stack_write_config DIR PORT BUILD"; return 2; }
	dir=$(_stack_abs "$1") || return 1
	port=$2
	build=$(_stack_abs "$3") || return 1
	_stack_check_path "$dir" || return 1
	_stack_check_port "$port" || return 1
	_stack_dirs "$dir" || return 1
	conf=$dir/keystone.conf
	tmp=$conf.tmp.$$
	daemon_json=${KS_STACK_PROVISION_DAEMON_JSON:-'{"bridge": "none", "iptables": false, "ip-forward": false}'}
	(
		umask 077
		cat >"$tmp" <<EOF
# Keystone configuration, written by deploy/stack.sh (rewritten on each start).
database = $(stack_pg_conninfo "$dir")
master_key_file = $dir/master.key
fcgi_socket = $dir/run/keystone.sock
base_url = https://localhost:$port
templates_dir = $_STACK_REPO/templates
sql_dir = $_STACK_REPO/sql
workers = 2
# The web workers serve requests as this account: they cannot read the
# master key (0600 root) and hold no key that opens a stored secret.
web_user = $_STACK_USER
caddyfile = $dir/Caddyfile
caddy_sites_dir = $dir/caddy-sites
caddy_admin_socket = $dir/run/caddy-admin.sock
registry_host = ${KS_STACK_REGISTRY_HOST:-localhost:$((port + 2))}
registry_listen = ${KS_STACK_REGISTRY_LISTEN:-127.0.0.1:5000}
registry_tls = internal
registry_container = ${KS_STACK_REGISTRY_CONTAINER:-keystone-registry}
registry_ca_file = $dir/ca.crt
registry_conf_dir = $dir/registry/etc
registry_storage = ${KS_STACK_REGISTRY_STORAGE:-$dir/registry/data}
docker_config = $dir/docker
ssh_key_file = $dir/ssh/keystone_ed25519
provision_ca_file = $dir/ca.crt
# Servers connected to this stack share the machine's network (its URL is
# on loopback): their Docker must not add a bridge, iptables rules or
# forwarding to it.
provision_daemon_json = $daemon_json
EOF
	) || { rm -f -- "$tmp"; return 1; }
	if ! mv -f -- "$tmp" "$conf"; then
		rm -f -- "$tmp"
		return 1
	fi

	# Keystone's management key: its public half goes into every server's
	# authorized_keys by the provisioning script.
	if [[ ! -e "$dir/ssh/keystone_ed25519" ]]; then
		mkdir -p -- "$dir/ssh" || return 1
		ssh-keygen -q -t ed25519 -N '' -C keystone-management \
			-f "$dir/ssh/keystone_ed25519" </dev/null || {
			_stack_err "ssh-keygen failed"
			return 1
		}
	fi

	# The web workers (user keystone) read the public half when they
	# render a provisioning script; the private key stays root's (0600).
	chgrp "$_STACK_USER" -- "$dir/ssh" && chmod 0750 -- "$dir/ssh" || return 1

	if [[ ! -e "$dir/master.key" ]]; then
		if [[ ! -x "$build/keystonectl" ]]; then
			_stack_err "$build/keystonectl not found (build first)"
			return 1
		fi
		"$build/keystonectl" -c "$conf" keygen || {
			_stack_err "keystonectl keygen failed"
			return 1
		}
	fi
}

# --------------------------------------------------------------------- Caddy

stack_caddy_ca() {
	local dir
	dir=$(_stack_abs "$1") || return 1
	printf '%s\n' "$dir/caddy/pki/authorities/local/root.crt"
}

stack_caddy_start() {
	local dir port static ca i code
	[[ $# -eq 3 ]] || { _stack_err "usage: stack_caddy_start DIR PORT STATIC_DIR"; return 2; }
	dir=$(_stack_abs "$1") || return 1
	port=$2
	static=$(_stack_abs "$3") || return 1
	_stack_check_path "$dir" || return 1
	_stack_check_path "$static" || return 1
	_stack_check_port "$port" || return 1
	_stack_dirs "$dir" || return 1
	if [[ ! -d "$static" ]]; then
		_stack_err "static directory $static does not exist"
		return 1
	fi
	if _stack_pid_alive "$dir/run/caddy.pid" "$dir/Caddyfile"; then
		return 0
	fi
	mkdir -p -- "$dir/caddy" "$dir/caddy-sites" || return 1
	chmod 0700 -- "$dir/caddy" || return 1

	# Only 127.0.0.1 (bind, default_bind); HTTP/3 (UDP) off; http_port moved
	# off :80 though no plain-HTTP listener is created (no redirects).
	# No `log` directive: no access log (it would record Cookie headers).
	# Caddy's own errors go to stderr, i.e. DIR/log/caddy.log.
	cat >"$dir/Caddyfile" <<EOF
# Written by deploy/stack.sh; rewritten on each start.
{
	# The admin API only on a unix socket under DIR/run (0700): the
	# registry's site (caddy-sites/) is loaded through it.
	admin unix/$dir/run/caddy-admin.sock
	storage file_system $dir/caddy
	skip_install_trust
	auto_https disable_redirects
	default_bind 127.0.0.1
	http_port $((port + 1))
	https_port $port
	grace_period 5s
	servers {
		protocols h1 h2
	}
}

https://localhost:$port {
	bind 127.0.0.1
	tls internal

	handle_path /static/* {
		header {
			Cache-Control "public, max-age=31536000"
			X-Content-Type-Options "nosniff"
			Content-Security-Policy "default-src 'none'; frame-ancestors 'none'"
			Strict-Transport-Security "max-age=31536000"
		}
		root * $static
		file_server
	}

	# Browsers ask for /favicon.ico on every page that names none.
	handle /favicon.ico {
		header Cache-Control "public, max-age=86400"
		root * $static
		file_server
	}

	handle {
		reverse_proxy unix/$dir/run/keystone.sock {
			# REQUEST_URI is the original path and query. Without split_path
			# the whole path is PATH_INFO, SCRIPT_NAME and DOCUMENT_URI are
			# empty (an app mounted at /). A fixed root keeps Caddy's cwd out
			# of DOCUMENT_ROOT and SCRIPT_FILENAME.
			transport fastcgi {
				root /nonexistent
			}
		}
	}
}

# Sites Keystone manages (the registry), one file each.
import $dir/caddy-sites/*.caddy
EOF

	# XDG/HOME point into DIR so Caddy writes nothing (autosave, data) elsewhere.
	# GOGC=400: Caddy's FastCGI transport allocates per request and its
	# garbage collector was a large share of its CPU; collecting at 5x the
	# live heap instead of 2x measured +15 % req/s on /healthz for ~15 MB
	# more RSS (bench/README.md).
	_stack_spawn "$dir/log/caddy.log" "$dir/run/caddy.pid" env HOME="$dir/caddy" \
		XDG_DATA_HOME="$dir/caddy/data" XDG_CONFIG_HOME="$dir/caddy/config" \
		GOGC=400 caddy run --config "$dir/Caddyfile" --adapter caddyfile || return 1

	ca=$(stack_caddy_ca "$dir")
	for ((i = 0; i < 300; i++)); do
		if ! _stack_proc_alive "$_STACK_BGPID"; then
			_stack_err "Caddy exited at start; see $dir/log/caddy.log"
			tail -n 20 -- "$dir/log/caddy.log" >&2
			rm -f -- "$dir/run/caddy.pid"
			return 1
		fi
		if [[ -s "$ca" ]]; then
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
				--cacert "$ca" --resolve "localhost:$port:127.0.0.1" \
				"https://localhost:$port/static/" 2>/dev/null) || code=000
			if [[ "$code" != 000 ]]; then
				# A public copy for the web workers (user
				# keystone), who cannot enter DIR/caddy.
				install -m 0644 -- "$ca" "$dir/ca.crt" || return 1
				return 0
			fi
		fi
		sleep 0.1
	done
	_stack_err "Caddy did not answer on https://localhost:$port within 30 s; see $dir/log/caddy.log"
	stack_caddy_stop "$dir"
	return 1
}

stack_caddy_stop() {
	local dir
	[[ $# -eq 1 ]] || { _stack_err "usage: stack_caddy_stop DIR"; return 2; }
	dir=$(_stack_abs "$1") || return 1
	_stack_kill_pidfile "$dir/run/caddy.pid" "$dir/Caddyfile" 10
}

# ------------------------------------------------------------------- FastCGI

stack_fcgi_start() {
	local dir build sock i
	[[ $# -eq 2 ]] || { _stack_err "usage: stack_fcgi_start DIR BUILD"; return 2; }
	dir=$(_stack_abs "$1") || return 1
	build=$(_stack_abs "$2") || return 1
	_stack_dirs "$dir" || return 1
	sock=$dir/run/keystone.sock
	if _stack_pid_alive "$dir/run/fcgi.pid" keystone.fcgi; then
		return 0
	fi
	if [[ ! -x "$build/keystone.fcgi" ]]; then
		_stack_err "$build/keystone.fcgi not found (build first)"
		return 1
	fi
	rm -f -- "$sock"
	_stack_spawn "$dir/log/keystone.log" "$dir/run/fcgi.pid" \
		"$build/keystone.fcgi" -c "$dir/keystone.conf" || return 1
	for ((i = 0; i < 100; i++)); do
		if [[ -S "$sock" ]]; then
			return 0
		fi
		if ! _stack_proc_alive "$_STACK_BGPID"; then
			break
		fi
		sleep 0.1
	done
	_stack_err "keystone.fcgi did not create $sock; see $dir/log/keystone.log"
	tail -n 20 -- "$dir/log/keystone.log" >&2
	stack_fcgi_stop "$dir"
	return 1
}

stack_fcgi_stop() {
	local dir
	[[ $# -eq 1 ]] || { _stack_err "usage: stack_fcgi_stop DIR"; return 2; }
	dir=$(_stack_abs "$1") || return 1
	_stack_kill_pidfile "$dir/run/fcgi.pid" keystone.fcgi 5
	rm -f -- "$dir/run/keystone.sock"
}

# --------------------------------------------------------------------- whole

# The spooler: runs queued operations (its own workers, its own log).
stack_spooler_start() {
	local dir build
	[[ $# -eq 2 ]] || { _stack_err "usage: stack_spooler_start DIR BUILD"; return 2; }
	dir=$(_stack_abs "$1") || return 1
	build=$(_stack_abs "$2") || return 1
	_stack_dirs "$dir" || return 1
	if _stack_pid_alive "$dir/run/spooler.pid" keystone-spooler; then
		return 0
	fi
	if [[ ! -x "$build/keystone-spooler" ]]; then
		_stack_err "$build/keystone-spooler not found (build first)"
		return 1
	fi
	_stack_spawn "$dir/log/spooler.log" "$dir/run/spooler.pid" \
		"$build/keystone-spooler" -c "$dir/keystone.conf" || return 1
	sleep 0.2
	if ! _stack_proc_alive "$_STACK_BGPID"; then
		_stack_err "keystone-spooler exited; see $dir/log/spooler.log"
		tail -n 20 -- "$dir/log/spooler.log" >&2
		return 1
	fi
}
stack_spooler_stop() {
	local dir
	[[ $# -eq 1 ]] || { _stack_err "usage: stack_spooler_stop DIR"; return 2; }
	dir=$(_stack_abs "$1") || return 1
	# The grace period lets a running step finish before it is cancelled.
	_stack_kill_pidfile "$dir/run/spooler.pid" keystone-spooler 40
}
stack_up() {
	local dir port build static
	[[ $# -eq 4 ]] || { _stack_err "usage: stack_up DIR PORT BUILD STATIC_DIR"; return 2; }
	dir=$1 port=$2 build=$3 static=$4
	stack_pg_start "$dir" || return 1
	stack_write_config "$dir" "$port" "$build" || return 1
	"$build/keystonectl" -c "$dir/keystone.conf" migrate || {
		_stack_err "keystonectl migrate failed"
		return 1
	}
	stack_fcgi_start "$dir" "$build" || return 1
	stack_spooler_start "$dir" "$build" || return 1
	stack_caddy_start "$dir" "$port" "$static" || return 1
}

# ------------------------------------------------------------ Docker engine
# The managed registry runs as a container on this machine. When no engine
# answers, one is started with the only flags this project allows (no
# default bridge: it would take 172.17.0.0/16), and stopped again by
# stack_engine_stop; an engine that was already running is left alone.

stack_engine_start() {
	local dir i
	dir=$(_stack_abs "$1") || return 1
	_stack_dirs "$dir" || return 1
	if docker info >/dev/null 2>&1; then
		return 0
	fi
	command -v dockerd >/dev/null || { _stack_err "dockerd missing (apt-get install docker.io)"; return 1; }
	_stack_spawn "$dir/log/dockerd.log" "$dir/run/dockerd.pid" \
		dockerd --bridge=none --iptables=false --ip-forward=false || return 1
	for ((i = 0; i < 300; i++)); do
		docker info >/dev/null 2>&1 && return 0
		if ! _stack_proc_alive "$_STACK_BGPID"; then
			_stack_err "dockerd exited at start; see $dir/log/dockerd.log"
			rm -f -- "$dir/run/dockerd.pid"
			return 1
		fi
		sleep 0.1
	done
	_stack_err "dockerd did not answer within 30 s; see $dir/log/dockerd.log"
	return 1
}

# The registry container's name (registry_container in DIR's configuration).
stack_registry_name() {
	sed -n 's/^registry_container = //p' "$(_stack_abs "$1")/keystone.conf"
}

# True when a container of that name exists and is this stack's: its
# configuration directory (mounted at /etc/keystone-registry) is DIR's.
stack_registry_is_ours() {
	local dir src
	dir=$(_stack_abs "$1") || return 1
	[[ -f "$dir/keystone.conf" ]] || return 1
	src=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/etc/keystone-registry"}}{{.Source}}{{end}}{{end}}' \
		"$(stack_registry_name "$dir")" 2>/dev/null) || return 1
	[[ "$src" == "$dir/registry/etc" ]]
}

# stack_registry_up DIR BUILD: the managed registry at the stack's start.
# The stack's own database decides: a registry it provisioned whose
# container is still there was stopped with the stack last time and is
# started again and checked ("checked" on stdout). Anything else (a first
# run, a reset data directory, a removed container) is provisioned
# ("provisioning"), which is idempotent and refuses a container of that
# name that another data directory owns (the reason shows on the Registry
# page, and a note goes to stderr).
stack_registry_up() {
	local dir build ctl state name
	[[ $# -eq 2 ]] || { _stack_err "usage: stack_registry_up DIR BUILD"; return 2; }
	dir=$(_stack_abs "$1") || return 1
	build=$(_stack_abs "$2") || return 1
	ctl=("$build/keystonectl" -c "$dir/keystone.conf")
	name=$(stack_registry_name "$dir")
	state=$("${ctl[@]}" registry status 2>/dev/null) || state=unknown
	if [[ "$state" != missing && "$state" != unknown ]] &&
		stack_registry_is_ours "$dir" && docker start "$name" >/dev/null 2>&1; then
		"${ctl[@]}" registry check >/dev/null || {
			echo "could not queue its health check" >&2
			return 1
		}
		echo checked
		return 0
	fi
	if docker inspect "$name" >/dev/null 2>&1 && ! stack_registry_is_ours "$dir"; then
		echo "a container named $name belongs to another data directory: left alone," \
			"provisioning will refuse it (remove it, or start this stack with" \
			"KS_STACK_REGISTRY_CONTAINER=another-name)" >&2
	fi
	"${ctl[@]}" registry provision >/dev/null || {
		echo "could not queue its provisioning" >&2
		return 1
	}
	echo provisioning
}

stack_engine_stop() {
	local dir
	dir=$(_stack_abs "$1") || return 1
	_stack_kill_pidfile "$dir/run/dockerd.pid" dockerd 30
}

stack_down() {
	local dir rc=0
	[[ $# -eq 1 ]] || { _stack_err "usage: stack_down DIR"; return 2; }
	dir=$1
	[[ -d "$dir" ]] || return 0
	stack_caddy_stop "$dir" || rc=1
	stack_fcgi_stop "$dir" || rc=1
	stack_spooler_stop "$dir" || rc=1
	stack_pg_stop "$dir" || rc=1
	stack_engine_stop "$dir" || rc=1
	return "$rc"
}

# stack_hosts_drop MARK: removes the lines of /etc/hosts holding MARK (not
# empty). The file is rewritten in place, never truncated first: another
# program resolving names meanwhile (a test run next to this one) sees the
# old lines or the new ones, never an empty file. (Not renamed over: in a
# container /etc/hosts is a mount.)
stack_hosts_drop() {
	local keep
	[[ -n "$1" ]] || return 1
	grep -qF -- "$1" /etc/hosts 2>/dev/null || return 0
	keep=$(grep -vF -- "$1" /etc/hosts; printf x)
	keep=${keep%x}
	printf '%s' "$keep" 1<>/etc/hosts || return 1
	truncate -s "$(printf '%s' "$keep" | wc -c)" /etc/hosts
}
