#!/usr/bin/env bash
# Makes the image `registry:2` from Debian's docker-registry package (the
# distribution registry program the official registry:2 image runs), for
# machines that cannot pull from a public registry: the local stack
# (`make run`) and the tests. Prints "registry:2 registry:ks-HASH". The
# image is built FROM scratch: the binary, its C library and loader, a
# default config. Rebuilt only when those change (the tag hashes them).
#
# Environment: KS_DOCKER  docker CLI (default: docker)
set -euo pipefail

bin=/usr/bin/docker-registry
die() {
	printf 'registry-image: %s\n' "$*" >&2
	exit 1
}
dk() { "${KS_DOCKER:-docker}" "$@"; }
[[ -x "$bin" ]] || die "$bin missing: apt-get install docker-registry"
ctx=$(mktemp -d)
# shellcheck disable=SC2064
trap "rm -rf -- '$ctx'" EXIT
mkdir -p -- "$ctx/root/usr/bin" "$ctx/root/bin" "$ctx/root/etc/docker/registry" \
	"$ctx/root/var/lib/registry" "$ctx/root/tmp"
chmod 1777 -- "$ctx/root/tmp"
cp -- "$bin" "$ctx/root/usr/bin/docker-registry"
ln -s ../usr/bin/docker-registry "$ctx/root/bin/registry"
# The C library and the loader it links against (ldd: "x => /path" and
# the loader's own absolute path).
while read -r lib; do
	mkdir -p -- "$ctx/root$(dirname -- "$lib")"
	cp -L -- "$lib" "$ctx/root$lib"
done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
cat >"$ctx/root/etc/docker/registry/config.yml" <<'EOF'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: 127.0.0.1:5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
EOF
h=$(cd "$ctx" && find . \( -type f -o -type l \) -print0 | sort -z |
	xargs -0 sha256sum | sha256sum | cut -c1-16)
tag=registry:ks-$h
if ! dk image inspect "$tag" >/dev/null 2>&1; then
	DOCKER_BUILDKIT=0 dk build -q --network host -t "$tag" "$ctx" >/dev/null
fi
dk tag "$tag" registry:2
printf 'registry:2 %s\n' "$tag"
