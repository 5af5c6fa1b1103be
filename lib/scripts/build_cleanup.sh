# Build, always (success, failure, cancel, after a crash): the build's
# directory removed, and of the images Keystone labelled on this node the
# newest per environment kept, the others removed. Images without
# Keystone's label and the build cache are never touched.
if [ -e "$WORK" ]; then
	# A build process still running (a cancel) may hold files: retry.
	for i in 1 2 3 4 5; do
		rm -rf -- "$WORK" 2>/dev/null || as_build rm -rf -- "$WORK" 2>/dev/null || true
		[ -e "$WORK" ] || break
		sleep 1
	done
	[ ! -e "$WORK" ] || fail "cannot remove $WORK"
	echo "removed $WORK"
fi
ids=$(dk image ls -q --no-trunc --filter "label=dev.keystone.environment" | sort -u)
[ -n "$ids" ] || { echo "no Keystone images on $NODE"; exit 0; }
# "CREATED ENV ID REPO:TAG..." newest first; the first line per
# environment is kept. (One inspect for all: one per image costs a round
# trip to the engine each.)
# shellcheck disable=SC2086 # ids: image ids, words without blanks
list=$(dk image inspect --format '{{.Created}} {{index .Config.Labels "dev.keystone.environment"}} {{.Id}}{{range .RepoTags}} {{.}}{{end}}' $ids | sort -r)
old=$(printf '%s\n' "$list" | awk 'seen[$2]++')
if [ -z "$old" ]; then
	echo "Keystone images on $NODE: only the newest per environment; nothing pruned"
	exit 0
fi
n=0
while read -r _ _ id tags; do
	# By tag (an image in several repositories), else by id.
	if [ -n "$tags" ]; then
		# shellcheck disable=SC2086 # tags: words without blanks
		dk rmi $tags >/dev/null 2>&1 || echo "kept $id: $(dk rmi $tags 2>&1 | tail -n 1)"
	else
		dk rmi "$id" >/dev/null 2>&1 || true
	fi
	n=$((n + 1))
done <<<"$old"
echo "pruned $n older Keystone image(s) on $NODE"
