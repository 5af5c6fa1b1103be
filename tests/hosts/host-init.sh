#!/bin/sh
# Start of a Keystone test host: the command each host container runs under
# docker-init (hostctl bind-mounts this file read-only at
# /usr/local/sbin/ks-host-init). POSIX sh: it runs inside the host.
#
# Environment (set by hostctl):
#   KS_HOST_NAME, KS_HOST_ADDR  the host's name and its own 127.0.0.N
#   KS_ROOT_PUBKEY              authorized for root
#   KS_MGMT_PUBKEY              authorized for user keystone (when it exists)
#   KS_HOST_DOCKERD=1           start a nested dockerd (safe flags only)
#
# Writes its public host keys to /run/ks-host/host_keys.pub (a directory of
# the harness's state), then becomes sshd, listening on KS_HOST_ADDR only.
set -eu

: "${KS_HOST_ADDR:?}" "${KS_HOST_NAME:?}"

# A nested engine (started here, or installed later by Keystone's
# provisioning script on a fresh host) needs /sys and its cgroup
# controllers writable; the container's own cgroup mounts only (never the
# machine's).
mount -o remount,rw /sys
awk '$2 ~ "^/sys/fs/cgroup/" { print $2 }' /proc/mounts | while read -r m; do
	mount -o remount,bind,rw "$m"
done
if [ "${KS_HOST_DOCKERD:-0}" = 1 ]; then
	# No bridge (Docker's default one takes 172.17.0.0/16), no iptables,
	# no forwarding: containers use --network host and bind 127.0.0.N.
	dockerd --bridge=none --iptables=false --ip-forward=false \
		</dev/null >>/var/log/dockerd.log 2>&1 &
fi

# Host keys of its own: the image carries none, every host makes new ones.
rm -f /etc/ssh/ssh_host_*
ssh-keygen -A >/dev/null

mkdir -p /etc/ssh/sshd_config.d /run/sshd
cat >/etc/ssh/sshd_config.d/00-ks-test-host.conf <<EOF
# Written by ks-host-init: this host shares the machine's network, so sshd
# listens on the host's own address only.
ListenAddress $KS_HOST_ADDR
Port 22
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF

umask 077
mkdir -p /root/.ssh
if [ -n "${KS_ROOT_PUBKEY:-}" ]; then
	printf '%s\n' "$KS_ROOT_PUBKEY" >/root/.ssh/authorized_keys
fi
if [ -n "${KS_MGMT_PUBKEY:-}" ] && id keystone >/dev/null 2>&1; then
	home=$(getent passwd keystone | cut -d: -f6)
	mkdir -p "$home/.ssh"
	printf '%s\n' "$KS_MGMT_PUBKEY" >"$home/.ssh/authorized_keys"
	chown -R keystone:keystone "$home/.ssh"
fi
umask 022

/usr/sbin/sshd -t
# The host's public keys, for the harness's known_hosts (through the
# directory it mounted at /run/ks-host: a channel outside the network).
cat /etc/ssh/ssh_host_*_key.pub >/run/ks-host/host_keys.tmp
mv -f /run/ks-host/host_keys.tmp /run/ks-host/host_keys.pub
exec /usr/sbin/sshd -D -e
