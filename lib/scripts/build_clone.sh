# Build, step 2: a shallow clone of the branch head, or of COMMIT, into a
# new directory owned by the build user; prints "KS_REPORT commit=SHA".
# The deploy key (DEPLOY_KEY, base64 of the private key) goes from stdin
# into a private ssh-agent; the HTTPS token (GIT_TOKEN) reaches git through
# a credential helper reading a pipe. Neither is in an argument, the
# environment or a file; the step's output is redacted of both.
# Set before this text: URL BRANCH COMMIT (empty: the branch head) AUTH
# (none, deploy_key, token) GIT_HOST GIT_HOST_KEY (deploy_key) GIT_USER
# (token) GIT_CA (PEM or empty).
as_build mkdir -m 0700 -- "$WORK" || fail "cannot make the build directory $WORK"
git_env=(GIT_TERMINAL_PROMPT=0 GIT_ASKPASS=/bin/false SSH_ASKPASS=/bin/false)
git_cfg=(-c credential.helper= -c core.askPass=/bin/false)
if [ -n "$GIT_CA" ]; then
	printf '%s\n' "$GIT_CA" | as_build tee -- "$WORK/git-ca.pem" >/dev/null
	# (GIT_SSL_CAINFO, which a session may set, wins over http.sslCAInfo.)
	git_env+=("GIT_SSL_CAINFO=$WORK/git-ca.pem")
fi
# A local source belongs to whoever made it: git's ownership check is
# for repositories one works in, not for one cloned from. (git clears -c
# for the upload-pack it runs on a local repository: its own command.)
up=()
case $URL in file://*) up=(--upload-pack 'git -c safe.directory="*" upload-pack') ;; esac
agent_pid=
stop_agent() { [ -z "$agent_pid" ] || as_build kill "$agent_pid" 2>/dev/null || true; }
trap stop_agent EXIT
case $AUTH in
deploy_key)
	sock=$WORK/agent.sock
	out=$(as_build ssh-agent -s -a "$sock") || fail "ssh-agent did not start"
	agent_pid=$(printf '%s\n' "$out" | sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p')
	printf '%s' "$DEPLOY_KEY" | base64 -d | as_build env SSH_AUTH_SOCK="$sock" \
		ssh-add -q - 2>&1 || fail "the deploy key was not accepted by ssh-add"
	printf '%s %s\n' "$GIT_HOST" "$GIT_HOST_KEY" | as_build tee -- "$WORK/known_hosts" >/dev/null
	git_env+=(SSH_AUTH_SOCK="$sock" "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$WORK/known_hosts -o GlobalKnownHostsFile=/dev/null -o IdentityFile=none -o IdentityAgent=$sock")
	;;
token)
	git_cfg+=(-c 'credential.helper=!f() { test "$1" = get && cat <&3; }; f')
	;;
none) ;;
*) fail "internal error: repository access $AUTH" ;;
esac
# git, as the build user, with what the access needs; the credential (if
# any) on descriptor 3, a pipe fed by the shell's own printf.
g() {
	if [ "$AUTH" = token ]; then
		as_build env "${git_env[@]}" git "${git_cfg[@]}" "$@" \
			3< <(printf 'username=%s\npassword=%s\n' "$GIT_USER" "$GIT_TOKEN")
	else
		as_build env "${git_env[@]}" git "${git_cfg[@]}" "$@"
	fi
}
src=$WORK/src
if [ -z "$COMMIT" ]; then
	g clone -q --depth 1 --single-branch --no-tags "${up[@]}" --branch "$BRANCH" -- "$URL" "$src" 2>&1 ||
		fail "cloning branch $BRANCH of $URL failed (see above)"
else
	g init -q -- "$src" >/dev/null
	g -C "$src" remote add origin -- "$URL"
	# A server that serves only advertised commits gets the branch with
	# its history instead.
	if ! g -C "$src" fetch -q --depth 1 --no-tags "${up[@]}" origin "$COMMIT" 2>/dev/null; then
		g -C "$src" fetch -q --no-tags "${up[@]}" origin "refs/heads/$BRANCH" 2>&1 ||
			fail "fetching $URL failed (see above)"
	fi
	g -C "$src" -c advice.detachedHead=false checkout -q --detach "$COMMIT" 2>&1 ||
		fail "commit $COMMIT is not in $URL (branch $BRANCH)"
fi
sha=$(g -C "$src" rev-parse HEAD) || fail "the clone has no HEAD"
[ -z "$COMMIT" ] || [ "$sha" = "$COMMIT" ] || fail "checked out $sha, not $COMMIT"
printf '%s\n' "$sha" | as_build tee -- "$WORK/commit" >/dev/null
echo "cloned $URL at $sha"
printf 'KS_REPORT commit=%s\n' "$sha"
