# Managed registry, step 2: the htpasswd file registry:2 reads and the
# user list Caddy's basicauth imports, both bcrypt hashes only. The
# passwords arrive on stdin (BUILD_PASSWORD, RUNTIME_PASSWORD) and reach
# htpasswd through a pipe from printf, a builtin: never in argv or a file.
# Set before this text: CONF_DIR BUILD_USER RUNTIME_USER.
set -eu
fail() { printf '%s\n' "$*"; exit 1; }
command -v htpasswd >/dev/null || fail "htpasswd is missing (apt-get install apache2-utils)"
F=$CONF_DIR/htpasswd
U=$CONF_DIR/caddy-users
verify() { printf '%s\n' "$2" | htpasswd -vi -- "$F" "$1" >/dev/null 2>&1; }
hash_of() { printf '%s\n' "$2" | htpasswd -niB -C 10 -- "$1" | sed -n "s/^$1://p"; }
# Unchanged when both passwords still verify (bcrypt salts differ at every
# run, so rewriting would restart the registry for nothing).
if [ -f "$F" ] && [ -f "$U" ] && [ "$(grep -c . -- "$F")" = 2 ] &&
	verify "$BUILD_USER" "$BUILD_PASSWORD" && verify "$RUNTIME_USER" "$RUNTIME_PASSWORD"; then
	echo "htpasswd unchanged"
	exit 0
fi
b=$(hash_of "$BUILD_USER" "$BUILD_PASSWORD")
r=$(hash_of "$RUNTIME_USER" "$RUNTIME_PASSWORD")
[ -n "$b" ] && [ -n "$r" ] || fail "htpasswd did not produce a bcrypt hash"
umask 077
tmp=$(mktemp -- "$F.XXXXXX")
printf '%s:%s\n%s:%s\n' "$BUILD_USER" "$b" "$RUNTIME_USER" "$r" >"$tmp"
chmod 0600 -- "$tmp"
mv -f -- "$tmp" "$F"
# Caddy wants each bcrypt hash base64-encoded; it runs as another user in
# production, hence 0644 (bcrypt of a 256-bit random password).
tmp=$(mktemp -- "$U.XXXXXX")
printf '%s %s\n%s %s\n' "$BUILD_USER" "$(printf '%s' "$b" | base64 -w0)" \
	"$RUNTIME_USER" "$(printf '%s' "$r" | base64 -w0)" >"$tmp"
chmod 0644 -- "$tmp"
mv -f -- "$tmp" "$U"
echo "wrote $F and $U (bcrypt hashes)"
