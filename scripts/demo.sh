#!/bin/sh
# The demo (`npm run demo`): builds a tiny synthetic OCI image manifest and prints its digest with
# `ferry manifest-digest`, checked against sha256sum of the same bytes.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -f dist/src/cli/main.js ] || node_modules/.bin/tsc -p tsconfig.json

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

printf '%s' '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}' >"$tmp/config.json"
config_digest=sha256:$(sha256sum <"$tmp/config.json" | cut -d' ' -f1)
config_size=$(wc -c <"$tmp/config.json" | tr -d ' ')
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$config_digest\",\"size\":$config_size},\"layers\":[]}" >"$tmp/manifest.json"

node bin/ferry --version
echo "manifest: $(cat "$tmp/manifest.json")"
digest=$(node bin/ferry manifest-digest "$tmp/manifest.json")
echo "ferry manifest-digest: $digest"
expected=sha256:$(sha256sum <"$tmp/manifest.json" | cut -d' ' -f1)
if [ "$digest" = "$expected" ]; then
  echo "matches sha256sum of the manifest bytes"
else
  echo "demo: MISMATCH: sha256sum says $expected" >&2
  exit 1
fi
