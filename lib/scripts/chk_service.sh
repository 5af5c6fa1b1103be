# Health check: the registry container runs and answers on its own
# loopback address (with authentication required).
# Set before this text: NAME LISTEN.
set -u
st=$(docker inspect -f '{{.State.Status}}' "$NAME" 2>&1) ||
	{ echo "the registry container $NAME does not exist"; exit 1; }
[ "$st" = running ] || { echo "the registry container is $st, not running"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$LISTEN/v2/" || true)
case $code in
401) echo "running; answers on $LISTEN" ;;
200) echo "running on $LISTEN but without authentication"; exit 1 ;;
*) echo "running but $LISTEN answers HTTP $code"; exit 1 ;;
esac
