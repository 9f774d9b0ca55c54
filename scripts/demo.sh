#!/bin/sh
# The main job (`npm run demo`), with no registry and no daemon: builds an image from a layer
# tarball, copies it tarball → oci → docker-archive → dir, inspects the result, and checks that
# the config survived every hop unchanged.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -f dist/cli/ferry.cjs ] || { node_modules/.bin/tsc -p tsconfig.json && node scripts/bundle.mjs; }
ferry() { "$root/bin/ferry" "$@"; }
step() { echo "\$ ferry $*" >&2; ferry "$@"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# A small root filesystem, as one gzip layer.
mkdir -p "$tmp/rootfs/etc" "$tmp/rootfs/app"
echo 'hello from ferry' >"$tmp/rootfs/app/hello.txt"
echo 'demo:x:1000:1000::/app:/bin/sh' >"$tmp/rootfs/etc/passwd"
tar -C "$tmp/rootfs" --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -czf "$tmp/layer.tar.gz" .

# A trust policy for the demo's own files (ferry copy always decides one, as skopeo does; a fresh
# machine may have no /etc/containers/policy.json): anything else is rejected.
cat >"$tmp/policy.json" <<'POLICY'
{
  "default": [{ "type": "reject" }],
  "transports": {
    "tarball": { "": [{ "type": "insecureAcceptAnything" }] },
    "oci": { "": [{ "type": "insecureAcceptAnything" }] },
    "docker-archive": { "": [{ "type": "insecureAcceptAnything" }] }
  }
}
POLICY

ferry --version
step copy --policy "$tmp/policy.json" "tarball:$tmp/layer.tar.gz" "oci:$tmp/layout:demo"
step copy --policy "$tmp/policy.json" "oci:$tmp/layout:demo" "docker-archive:$tmp/demo.tar:demo:1.0"
step copy --policy "$tmp/policy.json" "docker-archive:$tmp/demo.tar" "dir:$tmp/dir"
step inspect "dir:$tmp/dir"

first=$(ferry inspect --config --raw "oci:$tmp/layout:demo" | sha256sum | cut -d' ' -f1)
last=$(ferry inspect --config --raw "dir:$tmp/dir" | sha256sum | cut -d' ' -f1)
if [ "$first" = "$last" ]; then
  echo "demo: config sha256:$first is the same in oci:, docker-archive: and dir:"
else
  echo "demo: config changed on the way: sha256:$first → sha256:$last" >&2
  exit 1
fi
