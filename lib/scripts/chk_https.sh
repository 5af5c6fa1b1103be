# Health check, on any node: the registry URL answers over HTTPS with a
# certificate this node trusts (the CA Docker uses for it when Keystone
# installed one, else the system's).
# Set before this text: HOST CA_FILE (empty: /etc/docker/certs.d/HOST/ca.crt if present).
set -u
ca=$CA_FILE
if [ -z "$ca" ] && [ -r "/etc/docker/certs.d/$HOST/ca.crt" ]; then
	ca=/etc/docker/certs.d/$HOST/ca.crt
fi
cacert=()
trust="the system's CAs"
if [ -n "$ca" ]; then
	cacert=(--cacert "$ca")
	trust=$ca
fi
command -v curl >/dev/null || { echo "curl is not installed on this node"; exit 1; }
err=$(mktemp)
got=$(curl -sS -o /dev/null -w '%{http_code} %{remote_ip}' --max-time 10 "${cacert[@]}" \
	"https://$HOST/v2/" 2>"$err") || got=000
code=${got%% *}
ip=${got#* }
# curl's own line ("curl: (60) SSL certificate problem: ..."), not its advice.
msg=$(grep '^curl: (' "$err" | tail -n 1)
[ -n "$msg" ] || msg=$(grep . "$err" | tail -n 1)
rm -f -- "$err"
case $code in
401 | 200) echo "https://$HOST/v2/ answered HTTP $code from $ip, its certificate verified against $trust" ;;
000) echo "https://$HOST/v2/ unreachable: ${msg:-no answer}"; exit 1 ;;
*) echo "https://$HOST/v2/ answers HTTP $code"; exit 1 ;;
esac
