# Managed registry, step 1: the registry's config.yml and its storage.
# Set before this text: CONF_DIR STORAGE LISTEN.
set -eu
fail() { printf '%s\n' "$*"; exit 1; }
umask 022
mkdir -p -- "$CONF_DIR" || fail "cannot create $CONF_DIR"
mkdir -p -- "$STORAGE" || fail "cannot create the storage path $STORAGE"
tmp=$(mktemp -- "$CONF_DIR/.config.yml.XXXXXX")
cat >"$tmp" <<YAML
# Written by Keystone (managed registry). Edits are overwritten.
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $LISTEN
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: keystone-registry
    path: /etc/keystone-registry/htpasswd
YAML
chmod 0644 -- "$tmp"
if cmp -s -- "$tmp" "$CONF_DIR/config.yml"; then
	rm -f -- "$tmp"
	echo "config.yml unchanged"
else
	mv -f -- "$tmp" "$CONF_DIR/config.yml"
	echo "wrote $CONF_DIR/config.yml"
fi
echo "storage: $STORAGE"
