# Managed registry, step 4: the registry's HTTPS site in Caddy. The site is
# its own file in the directory the main Caddyfile imports, so the app's
# configuration stays as it is; Caddy reloads through its admin socket
# only when the site or its user list changed.
# Set before this text: SITES_DIR CADDYFILE CADDY_ADMIN SITE CONF_DIR HOST CA_FILE.
set -eu
fail() { printf '%s\n' "$*"; exit 1; }
[ -f "$CADDYFILE" ] || fail "Caddyfile $CADDYFILE not found"
grep -qF -- "import $SITES_DIR/" "$CADDYFILE" ||
	fail "$CADDYFILE does not import $SITES_DIR/*.caddy"
mkdir -p -- "$SITES_DIR"
f=$SITES_DIR/keystone-registry.caddy
tmp=$(mktemp -- "$SITES_DIR/.registry.XXXXXX")
printf '%s\n' "$SITE" >"$tmp"
chmod 0644 -- "$tmp"
stamp=$({ cat -- "$tmp" "$CONF_DIR/caddy-users"; } | sha256sum | cut -c1-32)
if cmp -s -- "$tmp" "$f"; then
	rm -f -- "$tmp"
else
	mv -f -- "$tmp" "$f"
	echo "wrote $f"
fi
cacert=()
if [ -n "$CA_FILE" ]; then cacert=(--cacert "$CA_FILE"); fi
probe() {
	curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "${cacert[@]}" \
		"https://$HOST/v2/" 2>&1 || true
}
if [ "$(cat -- "$SITES_DIR/.registry.loaded" 2>/dev/null || true)" = "$stamp" ] &&
	[ "$(probe)" = 401 ]; then
	echo "Caddy already serves https://$HOST"
	exit 0
fi
[ -S "$CADDY_ADMIN" ] || fail "Caddy's admin socket $CADDY_ADMIN is missing (is Caddy running?)"
out=$(curl -sS --unix-socket "$CADDY_ADMIN" -H 'Host: ' -H 'Content-Type: text/caddyfile' \
	--data-binary "@$CADDYFILE" -w '\n%{http_code}' http://localhost/load 2>&1 || true)
[ "$(printf '%s' "$out" | tail -n 1)" = 200 ] ||
	fail "Caddy refused the configuration: $(printf '%s' "$out" | head -n 1)"
printf '%s\n' "$stamp" >"$SITES_DIR/.registry.loaded"
echo "Caddy reloaded"
code=
for _ in $(seq 1 50); do
	code=$(probe)
	if [ "$code" = 401 ]; then
		echo "https://$HOST/v2/ answers and requires authentication"
		exit 0
	fi
	sleep 0.2
done
fail "https://$HOST/v2/ does not answer from the control node: $code"
