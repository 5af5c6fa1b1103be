# Health check on the control node, through the registry API over HTTPS
# with Keystone's stored credentials:
#   MODE=push     the build credential uploads the probe (two small blobs
#                 and a manifest whose digest Keystone computed);
#   MODE=pull     the runtime credential fetches that manifest by digest;
#   MODE=refused  the runtime credential's upload is refused (403 DENIED)
#                 when Caddy enforces pull-only.
# The password arrives on stdin (BUILD_PASSWORD or RUNTIME_PASSWORD) and
# reaches curl as a config on its stdin (-K -): never in argv.
# Set before this text: MODE HOST CA_FILE REPO TAG USERNAME LAYER_FMT
# LAYER_DIGEST CONFIG_JSON CONFIG_DIGEST MANIFEST MANIFEST_DIGEST MT.
set -u
fail() { printf '%s\n' "$*"; exit 1; }
case $MODE in
push) PASS=$BUILD_PASSWORD ;;
*) PASS=$RUNTIME_PASSWORD ;;
esac
cacert=()
if [ -n "$CA_FILE" ]; then cacert=(--cacert "$CA_FILE"); fi
d=$(mktemp -d)
trap 'rm -rf -- "$d"' EXIT
# api METHOD URL [curl args]: the HTTP status; headers in $d/h, body in $d/b.
api() {
	local m=$1 u=$2
	shift 2
	printf 'user = "%s:%s"\n' "$USERNAME" "$PASS" |
		curl -sS -K - -X "$m" -o "$d/b" -D "$d/h" -w '%{http_code}' --max-time 30 \
			"${cacert[@]}" "$@" "$u" 2>"$d/e" || { grep . "$d/e" | tail -n 1; return 1; }
}
header() { tr -d '\r' <"$d/h" | sed -n "s/^$1: *//Ip" | tail -n 1; }
base=https://$HOST/v2/$REPO

case $MODE in
push)
	printf "$LAYER_FMT" >"$d/layer"
	printf '%s' "$CONFIG_JSON" >"$d/config"
	printf '%s' "$MANIFEST" >"$d/manifest"
	[ "sha256:$(sha256sum <"$d/layer" | cut -c1-64)" = "$LAYER_DIGEST" ] ||
		fail "the probe layer does not match its digest"
	for blob in "layer $LAYER_DIGEST" "config $CONFIG_DIGEST"; do
		set -- $blob
		code=$(printf 'user = "%s:%s"\n' "$USERNAME" "$PASS" |
			curl -sS -K - -I -o /dev/null -w '%{http_code}' --max-time 30 \
				"${cacert[@]}" "$base/blobs/$2" 2>"$d/e") ||
			fail "cannot reach https://$HOST: $(grep . "$d/e" | tail -n 1)"
		[ "$code" = 200 ] && continue
		[ "$code" = 401 ] && fail "the build credential was refused (HTTP 401)"
		code=$(api POST "$base/blobs/uploads/") || fail "upload start failed: $code"
		[ "$code" = 202 ] || fail "upload start answered HTTP $code: $(head -c 300 "$d/b")"
		loc=$(header location)
		case $loc in /*) loc=https://$HOST$loc ;; esac
		case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
		code=$(api PUT "$loc${sep}digest=$2" -H 'Content-Type: application/octet-stream' \
			--data-binary "@$d/$1") || fail "blob upload failed: $code"
		[ "$code" = 201 ] || fail "blob upload answered HTTP $code: $(head -c 300 "$d/b")"
	done
	code=$(api PUT "$base/manifests/$TAG" -H "Content-Type: $MT" \
		--data-binary "@$d/manifest") || fail "manifest upload failed: $code"
	[ "$code" = 201 ] || fail "manifest upload answered HTTP $code: $(head -c 300 "$d/b")"
	got=$(header docker-content-digest)
	[ "$got" = "$MANIFEST_DIGEST" ] || fail "the registry stored digest $got, expected $MANIFEST_DIGEST"
	echo "build credential pushed $REPO@$MANIFEST_DIGEST"
	;;
pull)
	code=$(api GET "$base/manifests/$MANIFEST_DIGEST" -H "Accept: $MT") ||
		fail "cannot reach https://$HOST: $code"
	[ "$code" = 200 ] || fail "the runtime credential's pull answered HTTP $code"
	[ "$(header docker-content-digest)" = "$MANIFEST_DIGEST" ] ||
		fail "the pulled manifest has another digest"
	echo "runtime credential pulled $REPO@$MANIFEST_DIGEST"
	;;
refused)
	code=$(api POST "$base/blobs/uploads/") || fail "cannot reach https://$HOST: $code"
	if [ "$code" = 202 ]; then
		loc=$(header location)
		case $loc in /*) loc=https://$HOST$loc ;; esac
		api DELETE "$loc" >/dev/null || true
		fail "the runtime credential could start an upload: pull-only is not enforced"
	fi
	[ "$code" = 403 ] && grep -q '"DENIED"' "$d/b" ||
		fail "the runtime credential's upload answered HTTP $code, not 403 DENIED"
	echo "runtime credential's push refused: 403 DENIED"
	;;
*) fail "unknown mode $MODE" ;;
esac
