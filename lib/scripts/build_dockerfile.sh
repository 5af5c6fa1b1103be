# Build, step 3: the Keystone Dockerfile (rendered by lib/domain/build.c,
# every value a JSON string) next to the clone, not inside it.
# Set before this text: DOCKERFILE PRESET.
printf '%s' "$DOCKERFILE" | as_build tee -- "$WORK/Dockerfile.keystone" >/dev/null ||
	fail "cannot write $WORK/Dockerfile.keystone"
echo "Keystone Dockerfile ($PRESET preset):"
cat -- "$WORK/Dockerfile.keystone"
