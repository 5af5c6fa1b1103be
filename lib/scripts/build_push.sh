# Build, step 6: docker push of the commit's tag; what the push printed as
# the digest is kept for step 7 to compare.
# Set before this text: REPO_REF.
sha=$(cat -- "$WORK/commit") || fail "no commit: the clone step did not finish"
ref=$REPO_REF:$sha
check_disk "pushing"
out=$(dk push "$ref" 2>&1) || { printf '%s\n' "$out"; fail "docker push of $ref failed: $(printf '%s\n' "$out" | grep . | tail -n 1)"; }
printf '%s\n' "$out"
pushed=$(printf '%s\n' "$out" | sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\).*/\1/p' | tail -n 1)
[ -n "$pushed" ] || fail "docker push printed no digest"
printf '%s\n' "$pushed" | as_build tee -- "$WORK/pushed" >/dev/null
