#!/usr/bin/env bash
# Every step script (lib/scripts/) and every shell file of the project
# parses: a quote left open makes `bash -s` wait for the rest of a script
# that never comes, and the step hangs until its timeout.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bad=0
n=0
for f in lib/scripts/*.sh deploy/*.sh tests/*.sh tests/hosts/*.sh tests/hosts/hostctl tests/git/*.sh bench/*.sh; do
	[[ -f "$f" ]] || continue
	n=$((n + 1))
	if ! out=$(bash -n -- "$f" 2>&1); then
		printf 'FAIL %s:\n%s\n' "$f" "$out"
		bad=$((bad + 1))
	fi
done
# A step is `NAME='value'` lines followed by the script: run with sample
# values it must not stop for more input (closed stdin, bounded time).
for f in lib/scripts/*.sh; do
	[[ "$f" == lib/scripts/embed.sh ]] && continue
	if ! out=$(printf "NAME='x'\n" | cat - "$f" | timeout 5 bash -n 2>&1); then
		printf 'FAIL %s (as a step):\n%s\n' "$f" "$out"
		bad=$((bad + 1))
	fi
done
echo "$((n - bad)) passed, $bad failed"
((bad == 0))
