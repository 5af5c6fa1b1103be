# Registry auth on a node, step 1: Docker trusts the registry's CA (Caddy's
# internal CA in local mode and tests; a public ACME certificate needs no
# step). Writes /etc/docker/certs.d/<host>/ca.crt, root-owned, on purpose:
# the only root-owned file the registry auth puts on a node.
# Set before this text: HOST CA_PEM.
set -eu
fail() { printf '%s\n' "$*"; exit 1; }
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n -- "$@"; fi
}
f=/etc/docker/certs.d/$HOST/ca.crt
# Already there (the provisioning script installs it as root): nothing to
# do, and no root needed.
if printf '%s\n' "$CA_PEM" | cmp -s - "$f" 2>/dev/null; then
	echo "$f already holds the registry's CA"
	exit 0
fi
if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
	fail "writing $f needs root: $(id -un) has no passwordless sudo (run the server's provisioning command again)"
fi
printf '%s\n' "$CA_PEM" | as_root install -D -m 0644 -o root -g root /dev/stdin "$f" ||
	fail "cannot write $f"
echo "wrote $f"
