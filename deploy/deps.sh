#!/usr/bin/env bash
# Installs the Debian packages that Keystone, its tests and its bench need.
# Idempotent: when everything is present it prints one line and touches
# nothing. Targets Debian 12; also works on Ubuntu 22.04/24.04.
set -euo pipefail

# Build toolchain and the libraries the C programs link against.
build_pkgs=(
	build-essential g++ make pkg-config
	libfcgi-dev libpq-dev libcurl4-openssl-dev libssh2-1-dev
	libsodium-dev libcjson-dev check libctemplate-dev
)

# Runtime of the local stack (make run / make check) and its tools.
# openssh-client: the spooler checks a server's host key with ssh-keyscan
# (lib/scripts/hostkey_scan.sh), and builds hold a deploy key in a private
# ssh-agent (ssh-add reads it from stdin) and read a Git host's key.
# git: the control node is always a build node; builds clone with it.
runtime_pkgs=(
	caddy apache2-utils openssl curl ca-certificates procps iproute2
	openssh-client git
)

# Browser test and bench; fcgiwrap runs git-http-backend behind Caddy for
# the build tests' HTTPS Git server (tests/git/fixture.sh starts its own).
test_pkgs=(
	chromium chromium-driver wrk fcgiwrap
)

# ---- Packages added by later issues: append here. ----------------------
extra_pkgs=(
	# Test hosts (tests/hosts/hostctl): the machine's docker engine, the
	# registry program for registry:2, debootstrap for the hosts' image,
	# the ssh client (above; no server here: it would listen on 0.0.0.0:22).
	docker.io containerd runc docker-registry debootstrap
	busybox-static
)
# -----------------------------------------------------------------------

# PostgreSQL server: a fixed major version on Debian 12, whatever the
# `postgresql` metapackage brings elsewhere.
pg_pkg=postgresql
if [[ -r /etc/os-release ]]; then
	# shellcheck source=/dev/null
	os_id=$(. /etc/os-release && printf '%s' "${ID:-}")
	# shellcheck source=/dev/null
	os_ver=$(. /etc/os-release && printf '%s' "${VERSION_ID:-}")
	if [[ "$os_id" == debian && "$os_ver" == 12 ]]; then
		pg_pkg=postgresql-15
	fi
fi

want=("${build_pkgs[@]}" "${runtime_pkgs[@]}" "${test_pkgs[@]}" "$pg_pkg")
if ((${#extra_pkgs[@]} > 0)); then
	want+=("${extra_pkgs[@]}")
fi

# One dpkg-query for the whole list; unknown names are simply absent.
declare -A have=()
while read -r name status; do
	if [[ "$status" == installed ]]; then
		have["$name"]=1
	fi
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${want[@]}" 2>/dev/null || true)

missing=()
for p in "${want[@]}"; do
	if [[ -z "${have[$p]:-}" ]]; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "deps: all present"
	exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root (e.g. sudo bash deploy/deps.sh) to install them" >&2
	exit 1
fi

echo "deps: installing: ${missing[*]}"
# No package may start its service with its defaults: docker.io would bring
# up a dockerd with Docker's bridge (172.17.0.0/16, a private range this
# project never touches), postgresql and caddy would take their default
# ports. Keystone starts each of them itself, with its own configuration.
# policy-rc.d exiting 101 is Debian's switch for that; ours is removed again
# (a policy-rc.d that was already there is left alone).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e "$policy" ]]; then
	printf '#!/bin/sh\n# deploy/deps.sh: no service starts during installs\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=1
fi
remove_policy() {
	if ((own_policy)); then
		rm -f -- "$policy"
	fi
}
trap remove_policy EXIT
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
# Under systemd, also keep the services just installed from starting at the
# next boot (services of packages that were already there are left alone).
if [[ -d /run/systemd/system ]]; then
	for p in "${missing[@]}"; do
		case $p in
		docker.io) units=(docker.service docker.socket) ;;
		containerd) units=(containerd.service) ;;
		caddy) units=(caddy.service) ;;
		fcgiwrap) units=(fcgiwrap.service fcgiwrap.socket) ;;
		postgresql*) units=(postgresql.service) ;;
		*) units=() ;;
		esac
		for unit in "${units[@]}"; do
			systemctl disable --now "$unit" >/dev/null 2>&1 || true
		done
	done
fi
echo "deps: installed ${#missing[@]} package(s)"
