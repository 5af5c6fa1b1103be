#!/usr/bin/env bash
# bench/build.sh (as root, after `make all`): what a Keystone build and push
# of a small image costs against the same commands in a bare shell script,
# on the same node (the control node), in the same run:
#
#   1. a throwaway stack (deploy/stack.sh, RELEASE build in build/) with the
#      managed registry: its name (registry.ks.bench) in /etc/hosts for
#      127.0.0.1 while the bench runs, its own registry container and a free
#      loopback port for registry:2; `keystonectl registry setup` and
#      `registry provision`, then the registry's state must become ready;
#      allow_local_sources = 1 appended to the stack's keystone.conf and the
#      stack's spooler restarted so that it reads it;
#   2. a Git repository (tests/git/fixture.sh repo: a FROM-scratch image of
#      the machine's static busybox and two small files) and an application
#      with one environment building it by file://;
#   3. warm-up: one Keystone build (its base state: the registry holds the
#      repository, Docker on the node has signed in);
#   4. BENCH_RUNS rounds (default 5), each a Keystone build with --rebuild
#      (docker build --no-cache) timed from the operation's created_at to
#      its finished_at (PostgreSQL), then the bare script: a fresh directory
#      owned by the build user, `git clone --depth 1` of the same URL as that
#      user, `docker login --password-stdin`, `docker build --no-cache
#      --network host` with the same labels, `docker push`, curl HEAD of the
#      manifest for its digest (compared with what the push printed),
#      `rm -rf` of the directory, timed with $EPOCHREALTIME (the same
#      CLOCK_REALTIME PostgreSQL's timestamps come from);
#   5. teardown, also after a failure or an interrupt (trap): the stack,
#      the registry container, the /etc/hosts line, the certs.d entry, the
#      images built under the bench registry's name or with the bench
#      environment's label, the temp directories.
#
# Figures: keystone_s and bare_s are the medians of the rounds (seconds);
# ratio_build = keystone_s / bare_s (target: at most 1.10). The table comes
# first; the LAST line of stdout is exactly:
#   ratio_build= keystone_s= bare_s= runs= keystone_min_s= bare_min_s=
#   claim_ms= keystone_artifact_s= labelled_images= ratio_paired=
# ratio_paired: the median of the rounds' own ratios (keystone / bare of
# the same round);
# keystone_artifact_s: created_at .. the end of the step that reports the
# artifact (the digest), i.e. without the always-run clean-up step;
# labelled_images: images on the engine with Keystone's environment label
# when the rounds start (the clean-up step inspects each of them).
#
# The build credential for the bare side's `docker login` is read from the
# control node's Docker client configuration (docker_config/config.json,
# which the registry's sign-in on the control node wrote with `docker login
# --password-stdin`), never put in an argument or the environment: it
# reaches docker login and curl on their standard input.
#
# Knobs (environment): BENCH_RUNS (1..50, default 5), BENCH_PORT (first port
# tried, default 19343), BENCH_TIMEOUT (seconds a build or the provisioning
# may take, default 600), BENCH_KEEP=1 keeps the temp dir (logs). Loopback
# only: PostgreSQL on a unix socket, Caddy and registry:2 on 127.0.0.1.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"
# shellcheck source=deploy/stack.sh
. "$REPO/deploy/stack.sh"
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"

BUILD=$REPO/build
HOSTCTL=$REPO/tests/hosts/hostctl
FIXTURE=$REPO/tests/git/fixture.sh
PORT0=${BENCH_PORT:-19343}
TIMEOUT=${BENCH_TIMEOUT:-600}
RUNS=${BENCH_RUNS:-5}
REG_NAME=registry.ks.bench
BUILD_USER=keystone
HOSTS_MARK="# keystone-bench-build $$"

[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 && "$RUNS" -le 50 ]] ||
	die "BENCH_RUNS must be an integer in 1..50"
[[ "$TIMEOUT" =~ ^[0-9]+$ && "$TIMEOUT" -ge 10 && "$TIMEOUT" -le 3600 ]] ||
	die "BENCH_TIMEOUT must be an integer in 10..3600"
[[ "$(id -u)" -eq 0 ]] || die "must run as root (the stack, Docker, /etc/hosts)"
for c in psql caddy curl docker git jq awk ss setsid timeout runuser base64 flock; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found (run deploy/deps.sh)"
done
[[ -x "$BUILD/keystone.fcgi" && -x "$BUILD/keystonectl" && -x "$BUILD/keystone-spooler" ]] ||
	die "$BUILD/keystone.fcgi, keystonectl or keystone-spooler missing (run make all)"
[[ -f "$HOSTCTL" && -f "$FIXTURE" ]] || die "$HOSTCTL or $FIXTURE missing"

# ------------------------------------------------------------- cleanup

DIR=$(mktemp -d /tmp/ks-bbuild.XXXXXX)
HSTATE=$(mktemp -d /tmp/ks-hosts-bbuild.XXXXXX)
# The repository and the bare side's directories: under /var/tmp (where
# Keystone's builds work too), reachable by the build user.
GITDIR=
# The bare side's build directories: $BARE_WORK-N.
BARE_WORK=/var/tmp/ks-bbuild-bare-$$
REG_HOST=
ENV_UUID=
stack_is_up=0
engine_is_ours=0
K_WORKS=()
export KS_STACK_REGISTRY_CONTAINER=keystone-registry-bench-$$

hostctl() {
	KS_HOSTS_STATE=$HSTATE bash "$HOSTCTL" "$@"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if ((stack_is_up)); then
		stack_is_up=0
		mapfile -t K_WORKS < <(psql -X -q -At -d "$(stack_pg_conninfo "$DIR")" \
			-c "SELECT DISTINCT substring(script FROM 'WORK=''([^'']*)''')
				FROM operation_steps s JOIN operations o ON o.id = s.operation_id
				WHERE o.kind = 'build'" 2>/dev/null || true)
		stack_down "$DIR" || echo "bench: stack_down reported an error" >&2
	fi
	# (Never with an empty mark: grep -v "" would empty the file.)
	stack_hosts_drop "$HOSTS_MARK" || true
	if docker info >/dev/null 2>&1; then
		docker rm -f "$KS_STACK_REGISTRY_CONTAINER" >/dev/null 2>&1 || true
		# What the builds made: tagged under the bench registry's name,
		# or (untagged by a later build of the same tag) labelled with
		# the bench environment.
		if [[ -n "$REG_HOST" ]]; then
			docker image ls --format '{{.Repository}}:{{.Tag}}' |
				grep -F -- "$REG_HOST/" | xargs -r docker rmi >/dev/null 2>&1 || true
		fi
		if [[ -n "$ENV_UUID" ]]; then
			docker image ls -q --filter "label=dev.keystone.environment=$ENV_UUID" |
				sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
		fi
	fi
	if [[ -n "$REG_HOST" ]]; then
		rm -rf -- "/etc/docker/certs.d/$REG_HOST"
	fi
	if ((engine_is_ours)); then
		engine_is_ours=0
		hostctl engine-down >>"$DIR/log/hostctl.log" 2>&1 || true
	fi
	rm -rf -- "$BARE_WORK"-*
	[[ -z "$GITDIR" ]] || rm -rf -- "$GITDIR"
	rm -rf -- "$HSTATE"
	# Keystone's own build directories, should a build have been cut
	# short before its clean-up step (the stack is down: its spooler
	# runs nothing more).
	for w in "${K_WORKS[@]}"; do
		[[ ! "$w" =~ ^/var/tmp/ks-build-[0-9a-f]+$ ]] || rm -rf -- "$w"
	done
	stack_release_ports
	if [[ -n "${DIR:-}" && -d "$DIR" ]]; then
		if [[ "${BENCH_KEEP:-}" == 1 ]]; then
			echo "bench: kept $DIR" >&2
		else
			rm -rf -- "$DIR"
		fi
	fi
	DIR=
	return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------- the stack

mkdir -p -- "$DIR/static" "$DIR/log"
PORT=$(stack_free_port "$PORT0")
REG_LISTEN_PORT=$(stack_free_port 15400)
REG_HOST=$REG_NAME:$PORT
export KS_STACK_REGISTRY_HOST=$REG_HOST
export KS_STACK_REGISTRY_LISTEN=127.0.0.1:$REG_LISTEN_PORT

# The registry's name, first: dockerd (Go's resolver) reads /etc/hosts
# again only when its copy is more than 5 s old, so a line added just
# before the provisioning's `docker login` may not be seen yet (seen here:
# "lookup registry.ks.bench ... no such host"). HOSTS_AT is waited on below.
printf '127.0.0.1 %s %s\n' "$REG_NAME" "$HOSTS_MARK" >>/etc/hosts
HOSTS_AT=$EPOCHSECONDS

echo "=== engine and registry image"
engine_is_ours=1
hostctl engine-up >>"$DIR/log/hostctl.log" 2>&1 ||
	die "hostctl engine-up failed (see $DIR/log/hostctl.log)"
hostctl registry-image >>"$DIR/log/hostctl.log" 2>&1 ||
	die "hostctl registry-image failed (see $DIR/log/hostctl.log)"

echo "=== stack: $DIR, https://localhost:$PORT (release build), registry $REG_HOST"
stack_is_up=1
stack_up "$DIR" "$PORT" "$BUILD" "$DIR/static" || die "could not bring up the stack"
PGCONN=$(stack_pg_conninfo "$DIR")
CONF=$DIR/keystone.conf
SPOOL_LOG=$DIR/log/spooler.log
CTL=("$BUILD/keystonectl" -c "$CONF")

# Local sources (file://) are for development only: allowed in this stack's
# configuration, which the spooler reads at start (so it starts again).
printf '%s\n' '# bench/build.sh: the repository is a local file:// one' \
	'allow_local_sources = 1' >>"$CONF"
stack_spooler_stop "$DIR" || die "could not stop the stack's spooler"
stack_spooler_start "$DIR" "$BUILD" || die "could not start the stack's spooler"
sleep 0.5	# its workers LISTEN: operations below wake them by NOTIFY

echo "=== registry: setup and provisioning"
bench_registry_ready
echo "=== registry: ready"

# ------------------------------------------- repository, app, environment

GITDIR=$(mktemp -d /var/tmp/ks-bbuild-git.XXXXXX)
shas=$(bash "$FIXTURE" repo "$GITDIR" "$BUILD_USER") || die "fixture.sh repo failed"
COMMIT=${shas#main=}
COMMIT=${COMMIT%% *}
[[ "$COMMIT" =~ ^[0-9a-f]{40}$ ]] || die "cannot read the main commit from: $shas"
URL=file://$GITDIR/app.git
BRANCH=main
APP=bench-build-$$
ENV_UUID=$(kpsql -v name="$APP" -v url="$URL" -v br="$BRANCH" <<'EOF'
WITH a AS (
	INSERT INTO applications (name, repository_url, default_branch)
	VALUES (:'name', :'url', :'br') RETURNING id)
INSERT INTO environments (application_id, name)
SELECT a.id, 'production' FROM a RETURNING uuid;
EOF
)
[[ "$ENV_UUID" =~ ^[0-9a-f-]{36}$ ]] || die "could not add the application and environment"
# (psql interpolates :'var' in what it reads, not in -c.)
APP_UUID=$(kpsql -v env="$ENV_UUID" <<<"SELECT a.uuid FROM applications a JOIN environments e
	ON e.application_id = a.id WHERE e.uuid = :'env'")
echo "=== application $APP ($APP_UUID), environment production ($ENV_UUID): $URL at $COMMIT"

# keystone_build [--rebuild]: one build through keystonectl; sets K_ID.
keystone_build() {
	local uuid st
	uuid=$(KEYSTONE_ALLOW_LOCAL_SOURCES=1 "${CTL[@]}" build "$APP" production "$@") ||
		die "keystonectl build refused or failed"
	K_ID=$(kpsql -v u="$uuid" <<<"SELECT id FROM operations WHERE uuid = :'u'")
	[[ "$K_ID" =~ ^[0-9]+$ ]] || die "no operation $uuid"
	st=$(op_wait "$K_ID")
	if [[ "$st" != succeeded ]]; then
		op_report "$K_ID"
		die "build $K_ID: $st (see $SPOOL_LOG)"
	fi
}

echo "=== warm-up: one Keystone build"
keystone_build
read -r warm_s warm_digest < <(kpsql -F ' ' -c "SELECT
	round(extract(epoch FROM o.finished_at - o.created_at)::numeric, 3), a.manifest_digest
	FROM operations o JOIN build_artifacts a ON a.id = o.artifact_id WHERE o.id = $K_ID") ||
	die "the warm-up build has no artifact"
[[ "$warm_digest" =~ ^sha256:[0-9a-f]{64}$ ]] || {
	op_report "$K_ID"
	die "the warm-up build recorded no digest"
}
echo "    warm-up build $K_ID: ${warm_s}s, $warm_digest"

# The build credential, as the control node's Docker client holds it
# (written there by the registry's sign-in with docker login
# --password-stdin): "user:password", base64. It stays in this shell's
# variables; printf is a builtin, so it is in no process's argv.
DOCKER_CFG=$(sed -n 's/^docker_config = //p' "$CONF")
auth=$(jq -r --arg h "$REG_HOST" '.auths[$h].auth // empty' "$DOCKER_CFG/config.json") ||
	die "cannot read $DOCKER_CFG/config.json"
[[ -n "$auth" ]] || die "$DOCKER_CFG/config.json holds no credential for $REG_HOST"
cred=$(printf '%s' "$auth" | base64 -d) || die "the stored credential is not base64"
unset auth
REG_USER=${cred%%:*}
secret_pw=${cred#*:}
unset cred
[[ -n "$REG_USER" && -n "$secret_pw" ]] || die "the stored credential is incomplete"
REPO_PATH=keystone/$APP_UUID/$ENV_UUID
REPO_REF=$REG_HOST/$REPO_PATH
CA=/etc/docker/certs.d/$REG_HOST/ca.crt
[[ -r "$CA" ]] || die "$CA missing (the registry's sign-in on the control node writes it)"

# The bare side's Docker client configuration: its own, kept across rounds
# as the control node's is.
BARE_CFG=$DIR/bare-docker
mkdir -m 0700 -- "$BARE_CFG"

# bare_round N: the same commands as Keystone's build steps, in a plain
# script; sets B_S (seconds) and B_T (per command: "clone login build push
# digest rm", seconds).
bare_round() {
	local n=$1 t0 t1 t2 t3 t4 t5 t6 work src sha out pushed hdr code digest pw
	local g=(runuser -u "$BUILD_USER" -- env GIT_TERMINAL_PROMPT=0 GIT_ASKPASS=/bin/false
		SSH_ASKPASS=/bin/false git -c credential.helper= -c core.askPass=/bin/false)
	t0=$EPOCHREALTIME
	# Where Keystone's build directories are made, by the same user.
	work=$BARE_WORK-$n
	runuser -u "$BUILD_USER" -- mkdir -m 0700 -- "$work" || die "bare: mkdir $work failed"
	src=$work/src
	"${g[@]}" clone -q --depth 1 --single-branch --no-tags \
		--upload-pack 'git -c safe.directory="*" upload-pack' \
		--branch "$BRANCH" -- "$URL" "$src" || die "bare: git clone failed"
	sha=$("${g[@]}" -C "$src" rev-parse HEAD) || die "bare: the clone has no HEAD"
	t1=$EPOCHREALTIME
	out=$(printf '%s\n' "$secret_pw" | docker --config "$BARE_CFG" login \
		--username "$REG_USER" --password-stdin "$REG_HOST" 2>&1) ||
		die "bare: docker login failed: $out"
	t2=$EPOCHREALTIME
	docker --config "$BARE_CFG" build --network host --no-cache --file "$src/Dockerfile" \
		--label "dev.keystone.application=$APP_UUID" \
		--label "dev.keystone.environment=$ENV_UUID" \
		--label "dev.keystone.commit=$sha" \
		--label "dev.keystone.build=bare-$n" \
		--tag "$REPO_REF:bare-$sha" -- "$src" >"$DIR/log/bare-build-$n.log" 2>&1 ||
		die "bare: docker build failed (see $DIR/log/bare-build-$n.log)"
	t3=$EPOCHREALTIME
	out=$(docker --config "$BARE_CFG" push "$REPO_REF:bare-$sha" 2>&1) ||
		die "bare: docker push failed: $out"
	pushed=$(printf '%s\n' "$out" | sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\).*/\1/p' | tail -n 1)
	[[ -n "$pushed" ]] || die "bare: docker push printed no digest: $out"
	t4=$EPOCHREALTIME
	pw=${secret_pw//\\/\\\\}
	pw=${pw//\"/\\\"}
	hdr=$(printf 'user = "%s:%s"\n' "$REG_USER" "$pw" | curl -sS -K - --max-time 60 -I \
		--cacert "$CA" \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.oci.image.index.v1+json' \
		-w 'KS_HTTP %{http_code}\n' \
		"https://$REG_HOST/v2/$REPO_PATH/manifests/bare-$sha" 2>&1) ||
		die "bare: the registry did not answer: $hdr"
	pw=
	code=$(printf '%s\n' "$hdr" | sed -n 's/^KS_HTTP \([0-9]*\).*/\1/p')
	[[ "$code" == 200 ]] || die "bare: the registry answered HTTP $code"
	digest=$(printf '%s\n' "$hdr" | tr -d '\r' |
		sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *\(sha256:[0-9a-f]\{64\}\)$/\1/p' | tail -n 1)
	[[ "$digest" == "$pushed" ]] ||
		die "bare: the registry answers '$digest', docker push printed $pushed"
	t5=$EPOCHREALTIME
	rm -rf -- "$work" || die "bare: rm -rf $work failed"
	t6=$EPOCHREALTIME
	B_S=$(elapsed "$t0" "$t6")
	B_T="$(elapsed "$t0" "$t1") $(elapsed "$t1" "$t2") $(elapsed "$t2" "$t3")"
	B_T+=" $(elapsed "$t3" "$t4") $(elapsed "$t4" "$t5") $(elapsed "$t5" "$t6")"
	# Not timed: its image goes, so that Keystone's clean-up step (which
	# prunes this environment's labelled images but the newest) finds
	# only its own builds, as it would without the bench.
	docker rmi "$REPO_REF:bare-$sha" >/dev/null 2>&1 || die "bare: docker rmi failed"
}

# ------------------------------------------------------------- the rounds

: >"$DIR/k.txt"
: >"$DIR/kart.txt"
: >"$DIR/b.txt"
: >"$DIR/claim.txt"
: >"$DIR/steps.txt"
: >"$DIR/bsteps.txt"
K_IDS=()
# Keystone's clean-up inspects every image on the node that carries its
# environment label, of any environment (other runs' too, on a shared
# engine): how many there are is part of the state.
labelled=$(docker image ls -q --filter label=dev.keystone.environment | sort -u | wc -l)
echo "=== $RUNS rounds: Keystone build --rebuild, then the bare script"
for ((r = 1; r <= RUNS; r++)); do
	keystone_build --rebuild
	# (The artifact is known when the step reporting it ends: the bare
	# script's end but for its rm -rf; Keystone's clean-up comes after.)
	read -r k_s claim_ms k_art_s < <(kpsql -F ' ' -c "SELECT
		round(extract(epoch FROM o.finished_at - o.created_at)::numeric, 3),
		round(extract(epoch FROM o.started_at - o.created_at)::numeric * 1000, 1),
		round(extract(epoch FROM s.finished_at - o.created_at)::numeric, 3)
		FROM operations o JOIN operation_steps s ON s.operation_id = o.id
		AND s.reports = 'artifact' WHERE o.id = $K_ID") ||
		die "cannot read build $K_ID's times"
	K_IDS+=("$K_ID")
	printf '%s\n' "$k_s" >>"$DIR/k.txt"
	printf '%s\n' "$k_art_s" >>"$DIR/kart.txt"
	printf '%s\n' "$claim_ms" >>"$DIR/claim.txt"
	bare_round "$r"
	printf '%s\n' "$B_S" >>"$DIR/b.txt"
	printf '%s\n' "$B_T" >>"$DIR/bsteps.txt"
	echo "    round $r: keystone ${k_s}s (build $K_ID, claimed after ${claim_ms} ms), bare ${B_S}s"
done

# Per step of Keystone's builds (median over the rounds, ms): the step's
# own run, and the gap before it (since the previous step, or since the
# claim, finished).
ids=$(IFS=,; printf '%s' "${K_IDS[*]}")
kpsql -F '|' >"$DIR/steps.txt" <<EOF || die "cannot read the steps' times"
WITH s AS (
	SELECT s.operation_id, s.ordinal, s.name, s.status,
		extract(epoch FROM s.finished_at - s.started_at) * 1000 AS run_ms,
		extract(epoch FROM s.started_at - coalesce(lag(s.finished_at)
			OVER (PARTITION BY s.operation_id ORDER BY s.ordinal), o.started_at)) * 1000
			AS gap_ms
	FROM operation_steps s JOIN operations o ON o.id = s.operation_id
	WHERE s.operation_id IN ($ids))
SELECT ordinal, name,
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY run_ms)::numeric, 1),
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY gap_ms)::numeric, 1)
FROM s GROUP BY ordinal, name ORDER BY ordinal;
EOF
read -r tail_ms < <(kpsql -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY
	extract(epoch FROM o.finished_at - (SELECT max(s.finished_at) FROM operation_steps s
		WHERE s.operation_id = o.id)) * 1000)::numeric, 1)
	FROM operations o WHERE o.id IN ($ids)") || die "cannot read the operations' ends"

keystone_s=$(median "$DIR/k.txt")
bare_s=$(median "$DIR/b.txt")
keystone_min_s=$(minimum "$DIR/k.txt")
bare_min_s=$(minimum "$DIR/b.txt")
claim_ms=$(median "$DIR/claim.txt")
keystone_artifact_s=$(median "$DIR/kart.txt")
ratio_build=$(awk -v a="$keystone_s" -v b="$bare_s" \
	'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }')
# Each round's own ratio (its two sides ran back to back, so a burst of
# load from other jobs on the machine moves both): their median.
paste -d ' ' "$DIR/k.txt" "$DIR/b.txt" | awk '{ printf "%.4f\n", $1 / $2 }' >"$DIR/r.txt"
ratio_paired=$(median "$DIR/r.txt")
ratio_paired=$(printf '%.2f' "$ratio_paired")
bare_cols=()
for c in 1 2 3 4 5 6; do
	awk -v c="$c" '{ print $c }' "$DIR/bsteps.txt" >"$DIR/bcol.txt"
	bare_cols+=("$(awk '{ printf "%.1f", $1 * 1000 }' <<<"$(median "$DIR/bcol.txt")")")
done

# ------------------------------------------------------------- teardown

# Everything down before the report, so that what it says on the way down
# comes first and the figures stay the last line.
echo "=== teardown"
steps_report=$(cat -- "$DIR/steps.txt")
cleanup_rc=0
cleanup || cleanup_rc=$?

# ------------------------------------------------------------- report

echo
printf '%-52s %10s\n' measure value
printf '%-52s %10s\n' "rounds" "$RUNS"
printf '%-52s %10s\n' "keystone: created_at .. finished_at, median (s)" "$keystone_s"
printf '%-52s %10s\n' "keystone: min (s)" "$keystone_min_s"
printf '%-52s %10s\n' "bare script: median (s)" "$bare_s"
printf '%-52s %10s\n' "bare script: min (s)" "$bare_min_s"
printf '%-52s %10s\n' "ratio keystone / bare (medians)" "$ratio_build"
printf '%-52s %10s\n' "ratio keystone / bare, median of each round's" "$ratio_paired"
printf '%-52s %10s\n' "keystone: created_at .. digest step's end, median (s)" "$keystone_artifact_s"
printf '%-52s %10s\n' "keystone: created_at .. started_at (claim), ms" "$claim_ms"
printf '%-52s %10s\n' "Keystone-labelled images on the engine (at start)" "$labelled"
printf '%-52s %10s\n' "keystone: last step .. finished_at, ms" "$tail_ms"
echo
echo "Keystone build steps, medians (ms): step's run, gap before it"
while IFS='|' read -r ord name run gap; do
	printf '  %2s %-46s %8s %8s\n' "$ord" "$name" "$run" "$gap"
done <<<"$steps_report"
echo "Bare script, medians (ms):"
printf '  %-49s %8s\n' "mkdir + git clone + rev-parse" "${bare_cols[0]}" \
	"docker login --password-stdin" "${bare_cols[1]}" \
	"docker build --no-cache --network host" "${bare_cols[2]}" \
	"docker push" "${bare_cols[3]}" \
	"curl HEAD (digest)" "${bare_cols[4]}" \
	"rm -rf" "${bare_cols[5]}"
echo "ratio_build=$ratio_build keystone_s=$keystone_s bare_s=$bare_s runs=$RUNS" \
	"keystone_min_s=$keystone_min_s bare_min_s=$bare_min_s claim_ms=$claim_ms" \
	"keystone_artifact_s=$keystone_artifact_s labelled_images=$labelled" \
	"ratio_paired=$ratio_paired"
exit "$cleanup_rc"
