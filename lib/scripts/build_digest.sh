# Build, step 7: the manifest digest as the registry answers it for the
# tag (HEAD with the Docker v2, manifest list and OCI Accept headers),
# never a local image ID, compared with what the push printed; the
# architecture and size from the image's configuration. Prints
# "KS_REPORT digest=... pushed=... arch=... size=... ref=...".
# The password (REGISTRY_PASSWORD) reaches curl on stdin (-K -).
# Set before this text: HOST (the registry) REPO_PATH (keystone/APP/ENV)
# REPO_REF REG_USER.
sha=$(cat -- "$WORK/commit") || fail "no commit: the clone step did not finish"
pushed=$(cat -- "$WORK/pushed") || fail "no pushed digest: the push step did not finish"
ca=()
[ ! -r "/etc/docker/certs.d/$HOST/ca.crt" ] || ca=(--cacert "/etc/docker/certs.d/$HOST/ca.crt")
pw=${REGISTRY_PASSWORD//\\/\\\\}
pw=${pw//\"/\\\"}
hdr=$(printf 'user = "%s:%s"\n' "$REG_USER" "$pw" | curl -sS -K - --max-time 60 -I \
	"${ca[@]}" \
	-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
	-H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
	-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	-H 'Accept: application/vnd.oci.image.index.v1+json' \
	-w 'KS_HTTP %{http_code}\n' \
	"https://$HOST/v2/$REPO_PATH/manifests/$sha" 2>&1) ||
	fail "the registry $HOST did not answer for $REPO_PATH:$sha: $(printf '%s\n' "$hdr" | grep . | tail -n 1)"
code=$(printf '%s\n' "$hdr" | sed -n 's/^KS_HTTP \([0-9]*\).*/\1/p')
[ "$code" = 200 ] || fail "the registry $HOST answered HTTP $code for $REPO_PATH:$sha"
digest=$(printf '%s\n' "$hdr" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *\(sha256:[0-9a-f]\{64\}\)$/\1/p' | tail -n 1)
[ -n "$digest" ] || fail "the registry $HOST gave no Docker-Content-Digest for $REPO_PATH:$sha"
echo "the registry answers $digest for $REPO_PATH:$sha; docker push printed $pushed"
[ "$digest" = "$pushed" ] || fail "digest mismatch: the registry answers $digest, docker push printed $pushed"
info=$(dk image inspect --format '{{.Architecture}} {{.Size}}' "$REPO_REF:$sha") ||
	fail "cannot inspect $REPO_REF:$sha"
printf 'KS_REPORT digest=%s pushed=%s arch=%s size=%s ref=%s\n' "$digest" "$pushed" \
	"${info% *}" "${info#* }" "$REPO_REF:$sha"
