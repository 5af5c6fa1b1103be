# Host key check (lib/domain/hostkey.c): the keys the server (or an
# application's Git host) at HOST port PORT offers, read by ssh-keyscan (a
# key exchange, nothing authenticated or sent). Prints "target HOST PORT",
# then one "hostkey TYPE BASE64" line per key; the server's (or the
# application's) page picks the one Keystone's SSH client would get
# (lib/ssh.c) and pins it only when the user confirms its fingerprint.
# Without a key the last line says why, and the step fails.
# Set before this text: HOST PORT TIMEOUT TYPES.
set -u
fail() { echo "$*"; exit 1; }
command -v ssh-keyscan >/dev/null ||
	fail "ssh-keyscan is missing on the control node (apt-get install openssh-client)"
printf 'target %s %s\n' "$HOST" "$PORT"
# Both streams: its key lines ("HOST TYPE BASE64"), "# HOST SSH-2.0-..."
# comments and its errors.
out=$(ssh-keyscan -T "$TIMEOUT" -p "$PORT" -t "$TYPES" -- "$HOST" 2>&1)
n=0
while read -r _ type blob rest; do
	case $type in
	ssh-* | ecdsa-* | sk-*)
		[ -n "$blob" ] && [ -z "$rest" ] || continue
		printf 'hostkey %s %s\n' "$type" "$blob"
		n=$((n + 1))
		;;
	esac
done <<<"$out"
[ "$n" -gt 0 ] && exit 0
why=$(printf '%s\n' "$out" | grep -v '^#' | grep -v '^[[:space:]]*$' | tail -n 1)
# ssh-keyscan says nothing when it cannot connect: find out why.
getent ahosts -- "$HOST" >/dev/null || fail "cannot resolve $HOST"
msg=$(timeout "$TIMEOUT" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$HOST" "$PORT" 2>&1)
rc=$?
if [ "$rc" -eq 124 ]; then
	fail "no answer from $HOST port $PORT within $TIMEOUT s"
elif [ "$rc" -ne 0 ]; then
	fail "cannot connect to $HOST port $PORT: ${msg##*: }"
fi
fail "$HOST port $PORT accepts connections but offered no SSH host key" \
	"of a type Keystone accepts ($TYPES) within $TIMEOUT s${why:+: ${why#"$HOST": }}"
