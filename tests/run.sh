#!/usr/bin/env bash
# `make check` (after `make all asan`): runs every test program against real
# components.
#   1. build/asan/check_* unit tests (all but those that need the stack);
#   2. a throwaway stack (PostgreSQL + keystone.fcgi + Caddy, ASan builds) in a
#      temp dir, a test user, then check_migrate, check_cli, check_web and the
#      browser test build/asan/tests/wd_browser driven through chromedriver;
#   3. after the stack is down, any sanitizer report in its logs fails the run;
#   4. the test hosts (tests/hosts/test_hosts.sh: simulated servers in
#      containers, the machine's docker engine), independent of the stack;
#      KS_TEST_HOSTS=0 skips them.
# Ends with the line "N passed, M failed" (test programs) and exits non-zero if
# anything failed. Per-program output: tests/out/NAME.log; the stack's logs
# are copied to tests/out/logs/ when something failed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"
# shellcheck source=deploy/stack.sh
. "$REPO/deploy/stack.sh"

ABUILD=$REPO/build/asan
STATIC=$REPO/static
OUT=$REPO/tests/out
UNIT_TIMEOUT=300
WEB_TIMEOUT=900
# A cold machine builds the hosts' images first (debootstrap, apt).
HOSTS_TIMEOUT=1800

mkdir -p -- "$OUT"
rm -rf -- "$OUT/logs"

if [[ "$(id -u)" -ne 0 ]]; then
	echo "tests: must run as root (the stack starts PostgreSQL as user keystone)" >&2
	exit 1
fi

passed=0
failed=0
failures=()

pass() {
	passed=$((passed + 1))
	echo "--- PASS: $1"
}

fail() {
	failed=$((failed + 1))
	failures+=("$1")
	echo "--- FAIL: $1${2:+ ($2)}"
}

# run_prog NAME TIMEOUT CMD...: runs one test program, output also to
# tests/out/NAME.log, and records the result.
run_prog() {
	local name=$1 secs=$2 rc
	shift 2
	echo "=== RUN: $name"
	# --foreground: the program stays in our process group, so a ^C reaches
	# it; bash does not act on a ^C that its child exited from normally, so
	# status 130 (SIGINT) is taken as an interrupt here.
	set +e
	timeout --foreground -k 10 "$secs" "$@" 2>&1 | tee "$OUT/$name.log"
	rc=${PIPESTATUS[0]}
	set -e
	if ((rc == 130)); then
		echo "tests: interrupted" >&2
		exit 130
	elif ((rc == 0)); then
		pass "$name"
	elif ((rc == 124 || rc == 137)); then
		fail "$name" "timed out after ${secs}s"
	else
		fail "$name" "exit $rc"
	fi
}

# Ports: stack_free_port (deploy/stack.sh), released at exit.

# ------------------------------------------------------------- unit tests

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
export KS_TEST=1

shopt -s nullglob
for t in "$ABUILD"/check_*; do
	name=$(basename -- "$t")
	# These need the stack (below).
	[[ -f "$t" && -x "$t" && "$name" != check_web && "$name" != check_migrate &&
		"$name" != check_cli && "$name" != check_model &&
		"$name" != check_spool && "$name" != check_remote &&
		"$name" != check_ops_web && "$name" != check_registry &&
		"$name" != check_registry_web && "$name" != check_provision &&
		"$name" != check_prov_web && "$name" != check_plan &&
		"$name" != check_build && "$name" != check_build_settings &&
		"$name" != check_gitfix && "$name" != check_deploy &&
		"$name" != check_hook_web ]] || continue
	run_prog "$name" "$UNIT_TIMEOUT" "$t"
done
shopt -u nullglob
run_prog lint_secrets "$UNIT_TIMEOUT" bash "$REPO/tests/lint_secrets.sh"
run_prog lint_scripts "$UNIT_TIMEOUT" bash "$REPO/tests/lint_scripts.sh"

# ------------------------------------------------------------- the stack

DIR=$(mktemp -d /tmp/ks-test.XXXXXX)
stack_is_up=0
cd_pid=

stop_chromedriver() {
	local pid i
	[[ -n "$cd_pid" ]] || return 0
	pid=$cd_pid
	cd_pid=
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		_stack_proc_alive "$pid" || break
		sleep 0.1
	done
	# The browsers it started share its session (it was started with setsid).
	for pid in $(ps -e -o pid=,sid= | awk -v s="$pid" '$2 == s { print $1 }'); do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

# The test hosts' state dir while their phase runs (the test tears its
# hosts down itself; this covers a timeout or an interrupt).
HOSTS_STATE=
hosts_cleanup() {
	[[ -n "$HOSTS_STATE" ]] || return 0
	KS_HOSTS_STATE=$HOSTS_STATE bash "$REPO/tests/hosts/hostctl" down >/dev/null 2>&1 ||
		echo "tests: hostctl down reported an error" >&2
	KS_HOSTS_STATE=$HOSTS_STATE bash "$REPO/tests/hosts/hostctl" engine-down >/dev/null 2>&1 || true
	rm -rf -- "$HOSTS_STATE"
	HOSTS_STATE=
}

# Undoes what the registry test phase set up on the machine.
registry_cleanup() {
	# (Never with an empty mark: grep -v "" would empty the file.)
	if [[ -n "${HOSTS_MARK:-}" ]]; then
		stack_hosts_drop "$HOSTS_MARK" || echo "tests: /etc/hosts not restored" >&2
	fi
	if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
		if [[ -n "${KS_STACK_REGISTRY_CONTAINER:-}" ]]; then
			# (and the foreign one check_registry makes, should it
			# have stopped before removing it)
			docker rm -f "$KS_STACK_REGISTRY_CONTAINER" \
				"$KS_STACK_REGISTRY_CONTAINER-foreign" \
				"$KS_STACK_REGISTRY_CONTAINER-ext" >/dev/null 2>&1 || true
		fi
		# The images the tests built or pulled under the test registry's
		# name (builds leave the newest per environment).
		if [[ -n "${KS_STACK_REGISTRY_HOST:-}" ]]; then
			docker image ls --format '{{.Repository}}:{{.Tag}}' |
				grep -F -- "$KS_STACK_REGISTRY_HOST/" |
				xargs -r docker rmi >/dev/null 2>&1 || true
		fi
	fi
	# check_build's Git repositories (and its HTTPS Git server, should
	# the test have stopped before it did).
	if [[ -n "${KS_BUILD_REPO_DIR:-}" && -d "$KS_BUILD_REPO_DIR" ]]; then
		bash "$REPO/tests/git/fixture.sh" https-stop "$KS_BUILD_REPO_DIR/priv" \
			>/dev/null 2>&1 || true
		rm -rf -- "$KS_BUILD_REPO_DIR"
	fi
	# The CA a control-node sign-in trusted for the test registry's name.
	if [[ -n "${REG_NAME:-}" ]]; then
		rm -rf /etc/docker/certs.d/"$REG_NAME":*
		# and the name check_provision provisions its test registry as
		rm -rf /etc/docker/certs.d/registry.example.test
		# and the external registry check_build pushes to
		if [[ -n "${KS_EXT_REGISTRY_PORT:-}" ]]; then
			rm -rf "/etc/docker/certs.d/127.0.0.1:$KS_EXT_REGISTRY_PORT"
		fi
	fi
}

cleanup() {
	stack_release_ports
	registry_cleanup
	hosts_cleanup
	stop_chromedriver
	if ((stack_is_up)); then
		stack_is_up=0
		stack_down "$DIR" || true
	fi
	if [[ -n "$DIR" && -d "$DIR" ]]; then
		rm -rf -- "$DIR"
	fi
	DIR=
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$(stack_free_port 18443)
KS_PASS=$(openssl rand -hex 16)
# The managed registry's site shares Caddy's port under its own name (in
# /etc/hosts while check_registry runs); registry:2 on a free port.
REG_NAME=registry.ks.test
export KS_STACK_REGISTRY_HOST=$REG_NAME:$PORT
KS_STACK_REGISTRY_LISTEN=127.0.0.1:$(stack_free_port 15000)
# check_build's Git repositories (the same path on its build server).
export KS_BUILD_REPO_DIR=/var/tmp/ks-check-build-$$
export KS_STACK_REGISTRY_LISTEN
HOSTS_MARK="# keystone-tests $$"
# Its container has a name of its own: a developer's `make run` registry
# on the same machine is left alone.
export KS_STACK_REGISTRY_CONTAINER=keystone-registry-test-$$
# Servers provisioned by the tests get an engine without Docker's default
# bridge (172.17.0.0/16 is a private range this project never touches):
# what `make run` configures (deploy/stack.sh), so the tests prove it.
unset KS_STACK_PROVISION_DAEMON_JSON

echo "=== stack: $DIR, https://localhost:$PORT"
stack_is_up=1
stack_ok=0
# Sanitizer reports of the stack's programs go to DIR/log (checked below).
if ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$DIR/log/asan" \
	UBSAN_OPTIONS="print_stacktrace=1:log_path=$DIR/log/ubsan" \
	stack_up "$DIR" "$PORT" "$ABUILD" "$STATIC"; then
	if printf '%s\n' "$KS_PASS" |
		"$ABUILD/keystonectl" -c "$DIR/keystone.conf" user add tester; then
		stack_ok=1
	else
		echo "tests: keystonectl user add tester failed" >&2
	fi
fi

if ((stack_ok)); then
	export KS_URL="https://localhost:$PORT"
	KS_CA=$(stack_caddy_ca "$DIR")
	KS_PGCONN=$(stack_pg_conninfo "$DIR")
	export KS_CA KS_PGCONN KS_PASS
	export KS_USER=tester
	export KS_DIR=$DIR
	export KS_BUILD=$ABUILD

	# check_spool starts and kills its own spoolers: the stack's must not
	# take its operations.
	stack_spooler_stop "$DIR" || true
	for t in check_migrate check_cli check_model check_spool check_plan \
		check_ops_web check_registry_web check_prov_web check_build_settings \
		check_hook_web; do
		if [[ -x "$ABUILD/$t" ]]; then
			run_prog "$t" "$UNIT_TIMEOUT" "$ABUILD/$t"
		fi
	done
	# Operations over SSH, on two ready test hosts (tests/hosts).
	if [[ -x "$ABUILD/check_remote" && "${KS_TEST_HOSTS:-1}" != 0 ]]; then
		HOSTS_STATE=$(mktemp -d /tmp/ks-hosts-remote.XXXXXX)
		export KS_HOSTS_STATE=$HOSTS_STATE
		if bash "$REPO/tests/hosts/hostctl" engine-up >/dev/null &&
			timeout "$HOSTS_TIMEOUT" bash "$REPO/tests/hosts/hostctl" \
				up 2 --kind ready >/dev/null; then
			run_prog check_remote "$WEB_TIMEOUT" "$ABUILD/check_remote"
		else
			fail check_remote "the test hosts did not come up"
		fi
		unset KS_HOSTS_STATE
		hosts_cleanup
	fi
	# Connecting a fresh server with the one-time provisioning command.
	if [[ -x "$ABUILD/check_provision" && "${KS_TEST_HOSTS:-1}" != 0 ]]; then
		HOSTS_STATE=$(mktemp -d /tmp/ks-hosts-provision.XXXXXX)
		export KS_HOSTS_STATE=$HOSTS_STATE
		if bash "$REPO/tests/hosts/hostctl" engine-up >/dev/null &&
			timeout "$HOSTS_TIMEOUT" bash "$REPO/tests/hosts/hostctl" \
				up 1 --kind fresh >/dev/null; then
			run_prog check_provision "$WEB_TIMEOUT" "$ABUILD/check_provision"
		else
			fail check_provision "the test host did not come up"
		fi
		unset KS_HOSTS_STATE
		hosts_cleanup
	fi
	# With the managed registry (registry:2 in the machine's engine, its
	# name in /etc/hosts) and N ready hosts: check_registry (two runtime
	# servers, one build server), check_build (a build server, a runtime
	# server). Each provisions the registry afresh.
	registry_phase() {
		local prog=$1 n=$2
		[[ -x "$ABUILD/$prog" && "${KS_TEST_HOSTS:-1}" != 0 ]] || return 0
		HOSTS_STATE=$(mktemp -d "/tmp/ks-hosts-$prog.XXXXXX")
		export KS_HOSTS_STATE=$HOSTS_STATE
		printf '127.0.0.1 %s %s\n' "$REG_NAME" "$HOSTS_MARK" >>/etc/hosts
		if bash "$REPO/tests/hosts/hostctl" engine-up >/dev/null &&
			bash "$REPO/tests/hosts/hostctl" registry-image >/dev/null &&
			timeout "$HOSTS_TIMEOUT" bash "$REPO/tests/hosts/hostctl" \
				up "$n" --kind ready >/dev/null; then
			export KS_REGISTRY_HOST=$KS_STACK_REGISTRY_HOST
			# (check_build's HTTPS Git server)
			KS_GIT_HTTPS_PORT=$(stack_free_port 18743)
			KS_EXT_REGISTRY_PORT=$(stack_free_port 18843)
			# (check_deploy's application, on every host's address)
			KS_DEPLOY_PORT=$(stack_free_port 18943)
			export KS_GIT_HTTPS_PORT KS_EXT_REGISTRY_PORT KS_DEPLOY_PORT
			run_prog "$prog" "$WEB_TIMEOUT" "$ABUILD/$prog"
		else
			fail "$prog" "the test hosts or the registry image did not come up"
		fi
		registry_cleanup
		unset KS_HOSTS_STATE
		hosts_cleanup
	}
	registry_phase check_registry 3
	registry_phase check_build 2
	registry_phase check_deploy 2
	if [[ -x "$ABUILD/check_web" ]]; then
		run_prog check_web "$WEB_TIMEOUT" "$ABUILD/check_web"
	fi

	if [[ -x "$ABUILD/tests/wd_browser" ]]; then
		WD_PORT=$(stack_free_port 19515)
		# Without --allowed-ips chromedriver binds 127.0.0.1 and ::1 only
		# (with it, it listens on every address).
		wd_ready=0
		if _stack_spawn "$DIR/log/chromedriver.log" "$DIR/run/chromedriver.pid" \
			chromedriver --port="$WD_PORT"; then
			cd_pid=$_STACK_BGPID
		fi
		for ((i = 0; i < 100 && ${#cd_pid} > 0; i++)); do
			if curl -sf --max-time 1 "http://127.0.0.1:$WD_PORT/status" |
				grep -q '"ready": *true'; then
				wd_ready=1
				break
			fi
			sleep 0.1
		done
		if ((wd_ready)); then
			export WD_URL="http://127.0.0.1:$WD_PORT"
			run_prog wd_browser "$WEB_TIMEOUT" "$ABUILD/tests/wd_browser"
		else
			fail wd_browser "chromedriver did not start; see chromedriver.log"
		fi
		stop_chromedriver
	fi
else
	fail stack "could not bring up the test stack"
fi

echo "=== stack: stopping"
stack_is_up=0
stack_down "$DIR" || echo "tests: stack_down reported an error" >&2

# ------------------------------------------------------------- sanitizers

mapfile -t reports < <(grep -rlE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' \
	-- "$DIR/log" 2>/dev/null || true)
if ((${#reports[@]} > 0)); then
	for f in "${reports[@]}"; do
		echo "=== sanitizer report in ${f#"$DIR/"}:"
		head -n 80 -- "$f"
	done
	fail sanitizers "${#reports[@]} file(s) with reports in the stack's logs"
else
	echo "--- sanitizers: no reports in the stack's logs"
fi

# ------------------------------------------------------------- test hosts

# The build tests' Git servers (tests/git/fixture.sh): a local path, SSH
# from a ready host, HTTPS behind a Caddy of their own on 127.0.0.1.
if [[ -x "$ABUILD/check_gitfix" && "${KS_TEST_HOSTS:-1}" != 0 ]]; then
	HOSTS_STATE=$(mktemp -d /tmp/ks-hosts-gitfix.XXXXXX)
	export KS_HOSTS_STATE=$HOSTS_STATE
	if bash "$REPO/tests/hosts/hostctl" engine-up >/dev/null &&
		timeout "$HOSTS_TIMEOUT" bash "$REPO/tests/hosts/hostctl" \
			up 1 --kind ready >/dev/null; then
		KS_GIT_HTTPS_PORT=$(stack_free_port 18643)
		export KS_GIT_HTTPS_PORT
		run_prog check_gitfix "$UNIT_TIMEOUT" "$ABUILD/check_gitfix"
	else
		fail check_gitfix "the test host did not come up"
	fi
	unset KS_HOSTS_STATE
	hosts_cleanup
fi

if [[ "${KS_TEST_HOSTS:-1}" != 0 ]]; then
	HOSTS_STATE=$(mktemp -d /tmp/ks-hosts-check.XXXXXX)
	export KS_HOSTS_STATE=$HOSTS_STATE
	run_prog test_hosts "$HOSTS_TIMEOUT" bash "$REPO/tests/hosts/test_hosts.sh"
	unset KS_HOSTS_STATE
	hosts_cleanup
fi

if ((failed > 0)); then
	cp -r -- "$DIR/log" "$OUT/logs"
	echo "Failed: ${failures[*]}  (logs: tests/out/)"
fi
cleanup
echo "$passed passed, $failed failed"
((failed == 0))
