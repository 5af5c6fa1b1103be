#!/usr/bin/env bash
# Git servers for the build tests, on loopback only. Run as root, from
# anywhere; called with a subcommand, or sourced for its gitfix_*
# functions (which return non-zero rather than exit).
#
#   fixture.sh repo DIR [OWNER]
#	Makes DIR/app.git, a bare repository of a FROM-scratch application
#	(the machine's static busybox serving index.html on 8080):
#	  main    two commits, `version` "1" (main~1) then "2" (main)
#	  broken  a Dockerfile that fails (COPY of a file that is not there)
#	  slow    a Dockerfile with a step that runs 300 s (the cancel test)
#	readable by any user, and owned by OWNER (default: keystone, the
#	user the control node clones as, if it exists): git (2.39) refuses a
#	local repository of another owner ("dubious ownership"), root
#	included, and `git -c safe.directory=...` does not help there (the
#	local transport clears command-line settings for upload-pack); a
#	global one does: GIT_CONFIG_GLOBAL=FILE holding [safe] directory =
#	DIR/app.git. Prints one line: main=SHA main~1=SHA broken=SHA slow=SHA
#
#   fixture.sh ssh-serve HOST PUBKEY_LINE DIR
#	On a ready test host (tests/hosts/hostctl; $KS_HOSTS_STATE), user
#	`git` with git-shell as its shell, PUBKEY_LINE its only key, and
#	DIR/app.git copied to /home/git/app.git. Prints
#	  url=git@ADDR:app.git
#	  ssh_url=ssh://git@ADDR/home/git/app.git
#	  host_key=ssh-ed25519 BASE64	(the host's key, from the hosts' state)
#
#   fixture.sh https-serve DIR PORT USER [TOKEN]
#	git-http-backend (through fcgiwrap on a unix socket) behind Caddy
#	(tls internal, basic auth USER/TOKEN) on https://127.0.0.1:PORT,
#	serving DIR (GIT_PROJECT_ROOT; DIR/app.git from `repo`). Without
#	TOKEN (or with "-") the token is read from the first line of stdin,
#	which keeps it out of every argv. Caddy's and fcgiwrap's files live
#	in DIR/https. Prints
#	  url=https://127.0.0.1:PORT/app.git
#	  ca=PATH	(a world-readable copy of Caddy's root CA,
#			 caddy/pki/authorities/local/root.crt under DIR/https)
#	git trusts it through GIT_SSL_CAINFO=PATH, or `git -c
#	http.sslCAInfo=PATH` when GIT_SSL_CAINFO is not set: the variable
#	wins over the setting, and the environment of these machines may set
#	it to the system's bundle (seen here); so set the variable.
#	Caddy's HTTP port (for nothing: no redirects) is PORT+1, as
#	tests/run.sh's free_port reserves.
#
#   fixture.sh https-stop DIR
#	Stops what https-serve started in DIR (idempotent).
#
# Nothing listens on any address but 127.0.0.1 (Caddy binds it; fcgiwrap is
# on a unix socket; the SSH side is the test host's own sshd on 127.0.0.N).

GITFIX_BACKEND=/usr/lib/git-core/git-http-backend
# Fixed authors and dates: the same files give the same commits.
GITFIX_GIT_ENV=(
	GIT_AUTHOR_NAME=Keystone-tests GIT_AUTHOR_EMAIL=tests@keystone.invalid
	GIT_COMMITTER_NAME=Keystone-tests GIT_COMMITTER_EMAIL=tests@keystone.invalid
	GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
)

gitfix_err() { printf 'fixture: %s\n' "$*" >&2; }

# gitfix_commit SRC DATE MESSAGE: commits everything in the work tree SRC.
gitfix_commit() {
	env "${GITFIX_GIT_ENV[@]}" GIT_AUTHOR_DATE="$2" GIT_COMMITTER_DATE="$2" \
		git -C "$1" add -A &&
		env "${GITFIX_GIT_ENV[@]}" GIT_AUTHOR_DATE="$2" GIT_COMMITTER_DATE="$2" \
			git -C "$1" commit -q -m "$3"
}

gitfix_repo() {
	local dir=${1:-} owner=${2:-} src g shas
	[[ ($# -eq 1 || $# -eq 2) && -d "$dir" ]] ||
		{ gitfix_err "usage: repo DIR [OWNER] (DIR: an existing directory)"; return 2; }
	if [[ -z "$owner" ]]; then
		owner=$(id -un)
		if id keystone >/dev/null 2>&1; then
			owner=keystone
		fi
	fi
	id "$owner" >/dev/null 2>&1 || { gitfix_err "no user $owner"; return 1; }
	dir=$(cd -- "$dir" && pwd -P) || return 1
	[[ -x /bin/busybox ]] || { gitfix_err "no /bin/busybox (apt-get install busybox-static)"; return 1; }
	[[ ! -e "$dir/app.git" ]] || { gitfix_err "$dir/app.git exists"; return 1; }
	src=$(mktemp -d "$dir/src.XXXXXX") || return 1
	g=(env "${GITFIX_GIT_ENV[@]}" git -C "$src")
	(
		set -e
		"${g[@]}" init -q -b main
		cp /bin/busybox "$src/busybox"
		cat >"$src/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
COPY version index.html /www/
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
EOF
		printf '<!doctype html>\n<title>app</title>\n<p>Keystone test application</p>\n' \
			>"$src/index.html"
		printf '1\n' >"$src/version"
		gitfix_commit "$src" '2024-01-01T00:00:00Z' 'version 1'
		printf '2\n' >"$src/version"
		gitfix_commit "$src" '2024-01-02T00:00:00Z' 'version 2'
		"${g[@]}" checkout -q -b broken
		# Nothing can RUN in an image FROM scratch before busybox is
		# in it; a COPY of a file the context lacks fails the build.
		printf 'FROM scratch\nCOPY missing-file /x\n' >"$src/Dockerfile"
		gitfix_commit "$src" '2024-01-03T00:00:00Z' 'broken: COPY of a missing file'
		"${g[@]}" checkout -q main
		"${g[@]}" checkout -q -b slow
		cat >"$src/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sleep", "300"]
COPY version index.html /www/
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
EOF
		gitfix_commit "$src" '2024-01-04T00:00:00Z' 'slow: a step of 300 s'
		"${g[@]}" checkout -q main
		env "${GITFIX_GIT_ENV[@]}" git clone -q --bare -- "$src" "$dir/app.git"
		# A bare clone's HEAD follows the source's: main.
		[[ "$(git --git-dir="$dir/app.git" symbolic-ref HEAD)" == refs/heads/main ]]
		# A shallow fetch of a pinned commit that no branch points at
		# (main~1): protocol v2 (local, HTTPS) allows it, but over SSH
		# the hosts' sshd does not pass GIT_PROTOCOL (AcceptEnv), so
		# git speaks v0, which refuses an unadvertised object unless
		# the server allows it, as the big Git hosts do.
		git --git-dir="$dir/app.git" config uploadpack.allowReachableSHA1InWant true
	) || { gitfix_err "could not make the repository in $dir"; rm -rf -- "$src"; return 1; }
	rm -rf -- "$src"
	# Readable by anyone: the directory (mktemp -d makes it 0700) and
	# the repository.
	chmod a+rx -- "$dir" && chmod -R a+rX -- "$dir/app.git" || return 1
	# (Read before the chown: root's git refuses it afterwards.)
	shas=$(printf 'main=%s main~1=%s broken=%s slow=%s' \
		"$(git --git-dir="$dir/app.git" rev-parse main)" \
		"$(git --git-dir="$dir/app.git" rev-parse main~1)" \
		"$(git --git-dir="$dir/app.git" rev-parse broken)" \
		"$(git --git-dir="$dir/app.git" rev-parse slow)")
	[[ "$shas" =~ ^main=[0-9a-f]{40}\ main~1=[0-9a-f]{40}\ broken=[0-9a-f]{40}\ slow=[0-9a-f]{40}$ ]] ||
		{ gitfix_err "cannot read the commits: $shas"; return 1; }
	chown -R -- "$owner:" "$dir/app.git" || return 1
	printf '%s\n' "$shas"
}

# hostctl with this script's repository.
gitfix_hostctl() {
	bash "$(dirname -- "${BASH_SOURCE[0]}")/../hosts/hostctl" "$@"
}

gitfix_ssh_serve() {
	local host=$1 pub=$2 dir=$3 line name addr kh key
	[[ $# -eq 3 ]] || { gitfix_err "usage: ssh-serve HOST PUBKEY_LINE DIR"; return 2; }
	[[ -n "${KS_HOSTS_STATE:-}" ]] || { gitfix_err "KS_HOSTS_STATE is not set (hostctl up)"; return 1; }
	[[ -d "$dir/app.git" ]] || { gitfix_err "no $dir/app.git (fixture.sh repo DIR)"; return 1; }
	# One line, a key: it goes into authorized_keys.
	[[ "$pub" =~ ^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa)\ [A-Za-z0-9+/=]+(\ [^[:cntrl:]]*)?$ ]] ||
		{ gitfix_err "not a public key line: ${pub:0:40}"; return 1; }
	line=$(gitfix_hostctl list | awk -v h="$host" '$1 == h || $2 == h') || return 1
	read -r name addr _ <<<"$line"
	[[ -n "$addr" ]] || { gitfix_err "no test host $host in $KS_HOSTS_STATE"; return 1; }
	# The account: git-shell only (no command but git's), locked
	# password without the "!" that sshd would take for a locked account,
	# its key restricted (no forwarding, no pty).
	# shellcheck disable=SC2016 # expanded inside the host
	gitfix_hostctl exec -i "$name" bash -s -- "$pub" <<'EOF' || { gitfix_err "cannot set up user git on $name"; return 1; }
set -euo pipefail
command -v git-shell >/dev/null || { echo "no git-shell on this host (kind ready has git)" >&2; exit 1; }
if ! id git >/dev/null 2>&1; then
	useradd -m -s "$(command -v git-shell)" git
fi
usermod -p '*' git
install -d -m 0700 -o git -g git /home/git/.ssh
printf 'restrict %s\n' "$1" >/home/git/.ssh/authorized_keys
chown git:git /home/git/.ssh/authorized_keys
chmod 0600 /home/git/.ssh/authorized_keys
rm -rf /home/git/app.git
EOF
	tar -C "$dir" -c app.git | gitfix_hostctl exec -i "$name" \
		sh -c 'tar -C /home/git -x && chown -R git:git /home/git/app.git' ||
		{ gitfix_err "cannot copy app.git to $name"; return 1; }
	kh=$KS_HOSTS_STATE/ssh/known_hosts
	key=$(awk -v h="$name,$addr" '$1 == h && $2 == "ssh-ed25519" { print $2 " " $3; exit }' "$kh")
	[[ -n "$key" ]] || { gitfix_err "no ed25519 key of $name in $kh"; return 1; }
	printf 'url=git@%s:app.git\nssh_url=ssh://git@%s/home/git/app.git\nhost_key=%s\n' \
		"$addr" "$addr" "$key"
}

# gitfix_pid_alive PIDFILE NAME: the process in PIDFILE runs, and is NAME.
gitfix_pid_alive() {
	local pid
	[[ -s "$1" ]] || return 1
	pid=$(<"$1")
	[[ "$pid" =~ ^[0-9]+$ ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]]
}

# gitfix_stop PIDFILE NAME: SIGTERM, then SIGKILL after 5 s.
gitfix_stop() {
	local pid i
	if gitfix_pid_alive "$1" "$2"; then
		pid=$(<"$1")
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			gitfix_pid_alive "$1" "$2" || break
			sleep 0.1
		done
		if gitfix_pid_alive "$1" "$2"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f -- "$1"
}

gitfix_https_stop() {
	local d
	[[ $# -eq 1 ]] || { gitfix_err "usage: https-stop DIR"; return 2; }
	d=$1/https
	[[ -d "$d" ]] || return 0
	gitfix_stop "$d/caddy.pid" caddy
	gitfix_stop "$d/fcgiwrap.pid" fcgiwrap
	rm -f -- "$d/fcgiwrap.sock"
}

# gitfix_spawn LOG PIDFILE CMD...: CMD in a session of its own, its pid
# (written by the process itself, so setsid's fork does not matter).
gitfix_spawn() {
	local log=$1 pidfile=$2 i
	shift 2
	rm -f -- "$pidfile"
	# shellcheck disable=SC2016 # expanded by the inner shell
	setsid bash -c 'echo "$$" >"$0.tmp" && mv -f -- "$0.tmp" "$0" && exec "$@"' \
		"$pidfile" "$@" >>"$log" 2>&1 </dev/null &
	for ((i = 0; i < 100; i++)); do
		[[ -s "$pidfile" ]] && return 0
		sleep 0.05
	done
	gitfix_err "could not start $1"
	return 1
}

gitfix_https_serve() {
	local dir=$1 port=$2 user=$3 secret_token=${4:--} d hash ca i code
	[[ $# -eq 3 || $# -eq 4 ]] || { gitfix_err "usage: https-serve DIR PORT USER [TOKEN]"; return 2; }
	if [[ ! "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65534)); then
		gitfix_err "bad port: $port"
		return 1
	fi
	[[ "$user" =~ ^[A-Za-z0-9._-]+$ ]] || { gitfix_err "bad user name: $user"; return 1; }
	dir=$(cd -- "$dir" && pwd -P) || return 1
	[[ -d "$dir/app.git" ]] || { gitfix_err "no $dir/app.git (fixture.sh repo DIR)"; return 1; }
	# Paths go into a Caddyfile unquoted.
	[[ "$dir" =~ ^[A-Za-z0-9/._-]+$ ]] || { gitfix_err "DIR must be a plain path: $dir"; return 1; }
	[[ -x "$GITFIX_BACKEND" ]] || { gitfix_err "no $GITFIX_BACKEND (git)"; return 1; }
	command -v fcgiwrap >/dev/null || { gitfix_err "no fcgiwrap (apt-get install fcgiwrap)"; return 1; }
	if [[ "$secret_token" == - ]]; then
		IFS= read -r secret_token || true
	fi
	[[ -n "$secret_token" ]] || { gitfix_err "empty token"; return 1; }
	d=$dir/https
	gitfix_https_stop "$dir"
	mkdir -p -- "$d" && chmod 0700 -- "$d" || return 1
	# The hash from the token on stdin (printf is a builtin: no argv).
	hash=$(printf '%s\n' "$secret_token" | caddy hash-password) || hash=
	if [[ "$hash" != "\$2"* ]]; then
		gitfix_err "caddy hash-password failed"
		return 1
	fi
	# git-http-backend runs as root here, the repository is keystone's:
	# a global setting (the only kind git honours for it), given to the
	# backend alone, lets it serve. "*": upload-pack sees the repository
	# as "." (its working directory), not by its path.
	printf '[safe]\n\tdirectory = *\n' >"$d/gitconfig" || return 1
	# git-http-backend as a CGI program: fcgiwrap runs SCRIPT_FILENAME with
	# the request's FastCGI parameters as its environment. Caddy's fastcgi
	# transport without split_path makes the whole path PATH_INFO, which
	# git-http-backend reads under GIT_PROJECT_ROOT.
	cat >"$d/Caddyfile" <<EOF
# Written by tests/git/fixture.sh https-serve.
{
	admin off
	storage file_system $d/caddy
	skip_install_trust
	auto_https disable_redirects
	default_bind 127.0.0.1
	http_port $((port + 1))
	https_port $port
	servers {
		protocols h1 h2
	}
}

https://127.0.0.1:$port {
	bind 127.0.0.1
	tls internal
	basicauth {
		$user $hash
	}
	reverse_proxy unix/$d/fcgiwrap.sock {
		transport fastcgi {
			root /nonexistent
			env SCRIPT_FILENAME $GITFIX_BACKEND
			env GIT_PROJECT_ROOT $dir
			env GIT_HTTP_EXPORT_ALL 1
			env GIT_CONFIG_GLOBAL $d/gitconfig
		}
	}
}
EOF
	: >"$d/fcgiwrap.log" && : >"$d/caddy.log" || return 1
	gitfix_spawn "$d/fcgiwrap.log" "$d/fcgiwrap.pid" \
		fcgiwrap -c 2 -s "unix:$d/fcgiwrap.sock" || return 1
	gitfix_spawn "$d/caddy.log" "$d/caddy.pid" env HOME="$d/caddy" \
		XDG_DATA_HOME="$d/caddy/data" XDG_CONFIG_HOME="$d/caddy/config" \
		caddy run --config "$d/Caddyfile" --adapter caddyfile || {
		gitfix_https_stop "$dir"
		return 1
	}
	ca=$d/caddy/pki/authorities/local/root.crt
	# Up once the CA exists, fcgiwrap's socket too, and an unauthenticated
	# request is refused with 401 (30 s at most).
	for ((i = 0; i < 300; i++)); do
		if ! gitfix_pid_alive "$d/caddy.pid" caddy || ! gitfix_pid_alive "$d/fcgiwrap.pid" fcgiwrap; then
			gitfix_err "Caddy or fcgiwrap exited at start:"
			tail -n 20 -- "$d/caddy.log" "$d/fcgiwrap.log" >&2
			gitfix_https_stop "$dir"
			return 1
		fi
		if [[ -s "$ca" && -S "$d/fcgiwrap.sock" ]]; then
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$ca" \
				"https://127.0.0.1:$port/app.git/info/refs?service=git-upload-pack") || code=000
			if [[ "$code" == 401 ]]; then
				# Caddy's storage is 0700 (its CA key is there): a
				# public copy of the certificate for other users.
				install -m 0644 -- "$ca" "$d/ca.crt" || return 1
				chmod 0755 -- "$d"
				printf 'url=https://127.0.0.1:%s/app.git\nca=%s\n' "$port" "$d/ca.crt"
				return 0
			fi
		fi
		sleep 0.1
	done
	gitfix_err "https://127.0.0.1:$port did not answer 401 within 30 s (last: ${code:-none}); caddy.log:"
	tail -n 20 -- "$d/caddy.log" >&2
	gitfix_https_stop "$dir"
	return 1
}

gitfix_main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	repo) gitfix_repo "$@" ;;
	ssh-serve) gitfix_ssh_serve "$@" ;;
	https-serve) gitfix_https_serve "$@" ;;
	https-stop) gitfix_https_stop "$@" ;;
	*)
		gitfix_err "usage: fixture.sh repo DIR | ssh-serve HOST PUBKEY_LINE DIR |" \
			"https-serve DIR PORT USER [TOKEN] | https-stop DIR"
		return 2
		;;
	esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -uo pipefail
	gitfix_main "$@"
fi
