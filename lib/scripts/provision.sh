# Keystone provisioning script for an existing Ubuntu 22.04/24.04 or
# Debian 12 server, run as root (curl ... | sudo bash). Rendered for one
# token and never stored: it holds the keystone user's sudo password and
# the callback's own secret. Installs Docker and Compose, creates the
# keystone user (groups docker and sudo) with that password (through
# chpasswd's stdin), authorises Keystone's management key, makes SSH
# key-only, and reports the host's SSH keys and facts back with the
# callback secret in a header (the URL's token, seen in curl's arguments
# while this script downloaded, authorises no report). It deletes itself
# when it ends (when run from a file), also on failure, and writes no
# secret to any file, log or command line. Running it again does no harm.
# Set before this text, each through lib/core/shq.c: SERVER_NAME KEYSTONE_URL
# CALLBACK_SECRET MGMT_PUBKEY SUDO_PASSWORD CA_PEM REG_HOST REG_CA_PEM
# DAEMON_JSON BUILD_ROLE (1: the server has the build role).
set -euo pipefail
umask 022
say() { printf 'keystone: %s\n' "$*" >&2; }
fail() {
	say "provisioning failed: $*"
	exit 1
}
tmp=$(mktemp -d)
cleanup() {
	rm -rf -- "$tmp"
	# Run from a file (bash FILE): that file goes too.
	case ${BASH_SOURCE[0]:-} in
	*/* | *.sh) [ -f "${BASH_SOURCE[0]}" ] && rm -f -- "${BASH_SOURCE[0]}" ;;
	esac
}
trap cleanup EXIT
# The name as shown: control characters (a name stored other than through
# the form) would drive the terminal.
name=${SERVER_NAME//[[:cntrl:]]/?}

[ "$(id -u)" = 0 ] || fail "run it as root (curl ... | sudo bash)"
. /etc/os-release
case "${ID:-}:${VERSION_ID:-}" in
ubuntu:22.04 | ubuntu:24.04 | debian:12) ;;
*) fail "unsupported system ${PRETTY_NAME:-unknown}: Ubuntu 22.04/24.04 or Debian 12" ;;
esac
say "provisioning $name (${PRETTY_NAME})"

curl_ca=()
if [ -n "$CA_PEM" ]; then
	printf '%s\n' "$CA_PEM" >"$tmp/keystone-ca.crt"
	curl_ca=(--cacert "$tmp/keystone-ca.crt")
fi

# Docker's daemon settings first, so that no start of the engine (the
# package's own included) runs without them.
if [ -n "$DAEMON_JSON" ]; then
	mkdir -p /etc/docker
	printf '%s\n' "$DAEMON_JSON" >"$tmp/daemon.json"
	if ! cmp -s "$tmp/daemon.json" /etc/docker/daemon.json; then
		install -m 0644 "$tmp/daemon.json" /etc/docker/daemon.json
	fi
fi

# Packages: Docker, Compose (docker-compose on Debian 12 and Ubuntu 22.04,
# the v2 plugin on Ubuntu 24.04), and what Keystone's steps use.
compose=docker-compose
if [ "$ID:$VERSION_ID" = ubuntu:24.04 ]; then
	compose=docker-compose-v2
fi
want=(docker.io "$compose" curl ca-certificates sudo openssh-server)
# A build node clones applications with git, holding a deploy key in a
# private ssh-agent (openssh-client's ssh-agent and ssh-add).
if [ "$BUILD_ROLE" = 1 ]; then
	want+=(git openssh-client)
fi
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || fail "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		fail "apt-get install failed"
fi

# The engine running now and at boot.
if ! docker info >/dev/null 2>&1; then
	if [ -d /run/systemd/system ]; then
		systemctl enable --now docker >/dev/null 2>&1 || true
	elif [ -x /etc/init.d/docker ]; then
		/etc/init.d/docker start >/dev/null 2>&1 || true
	fi
	for _ in $(seq 1 50); do
		docker info >/dev/null 2>&1 && break
		sleep 0.2
	done
	# No service manager that can start it (a container, say): the engine
	# itself, with the daemon settings above.
	if ! docker info >/dev/null 2>&1; then
		say "starting dockerd directly (no working service manager)"
		setsid dockerd </dev/null >>/var/log/keystone-dockerd.log 2>&1 &
		for _ in $(seq 1 150); do
			docker info >/dev/null 2>&1 && break
			sleep 0.2
		done
	fi
	docker info >/dev/null 2>&1 || fail "the Docker engine does not start"
fi

# The keystone user: docker and sudo groups, the generated password (for
# the human who logs in; Keystone itself only uses its SSH key).
if ! id keystone >/dev/null 2>&1; then
	useradd -m -s /bin/bash keystone
fi
usermod -aG docker,sudo keystone
printf 'keystone:%s\n' "$SUDO_PASSWORD" | chpasswd
home=$(getent passwd keystone | cut -d: -f6)
install -d -m 0700 -o keystone -g keystone "$home/.ssh"
touch "$home/.ssh/authorized_keys"
if ! grep -qxF -- "$MGMT_PUBKEY" "$home/.ssh/authorized_keys"; then
	printf '%s\n' "$MGMT_PUBKEY" >>"$home/.ssh/authorized_keys"
fi
chown keystone:keystone "$home/.ssh/authorized_keys"
chmod 0600 "$home/.ssh/authorized_keys"

# The managed registry's CA (Caddy's internal one in local setups), so
# Docker trusts it; the registry sign-in itself is Keystone's next step.
if [ -n "$REG_HOST" ] && [ -n "$REG_CA_PEM" ]; then
	install -d -m 0755 "/etc/docker/certs.d/$REG_HOST"
	printf '%s\n' "$REG_CA_PEM" >"$tmp/reg-ca.crt"
	install -m 0644 "$tmp/reg-ca.crt" "/etc/docker/certs.d/$REG_HOST/ca.crt"
fi

# SSH: keys only.
install -d -m 0755 /etc/ssh/sshd_config.d
cat >"$tmp/sshd.conf" <<'SSHD'
# Written by Keystone's provisioning: SSH with keys only.
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
SSHD
install -m 0644 "$tmp/sshd.conf" /etc/ssh/sshd_config.d/10-keystone.conf
sshd -t || fail "the SSH configuration does not verify"
if [ -d /run/systemd/system ]; then
	systemctl reload ssh >/dev/null 2>&1 || systemctl reload sshd >/dev/null 2>&1 || true
elif [ -f /run/sshd.pid ]; then
	kill -HUP "$(cat /run/sshd.pid)" || true
fi

# The report: host keys and facts, the callback secret in a header.
hostkey=$(cat /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null | cut -d' ' -f1,2)
[ -n "$hostkey" ] || fail "no ed25519 host key in /etc/ssh"
free_kb=$(df -Pk / | awk 'NR == 2 { print $4 }')
dver=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)
# (The header reaches curl as a config on its stdin, never in argv:
# printf is bash's builtin.)
code=$(printf 'header = "X-Keystone-Callback: %s"\n' "$CALLBACK_SECRET" |
	curl -sS -K - -o "$tmp/answer" -w '%{http_code}' "${curl_ca[@]}" \
	--data-urlencode "host_key=$hostkey" \
	--data-urlencode "os=$ID" \
	--data-urlencode "os_version=$VERSION_ID" \
	--data-urlencode "arch=$(dpkg --print-architecture)" \
	--data-urlencode "docker_version=$dver" \
	--data-urlencode "free_disk_kb=$free_kb" \
	"$KEYSTONE_URL/provision/callback") || fail "cannot reach $KEYSTONE_URL"
[ "$code" = 200 ] || fail "Keystone refused the report (HTTP $code): $(head -c 200 "$tmp/answer")"
say "done: $name is connected to Keystone"
