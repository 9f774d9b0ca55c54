#!/usr/bin/env bash
# Installs the Debian packages Ferry's integration tests use (the real registry and the real skopeo
# as peers, podman and dockerd as Docker Engine API daemons, plus the tools around them). Only
# missing ones are installed. Needs root.
#
#   install-system-deps.sh           install what is missing
#   install-system-deps.sh --check   install nothing; print the missing packages (one line) and
#                                    exit 1 if any is missing, exit 0 if none
set -euo pipefail

# command → Debian package
deps=(
  "docker-registry docker-registry"
  "skopeo skopeo"
  "htpasswd apache2-utils"
  "openssl openssl"
  "zstd zstd"
  "xz xz-utils"
  "umoci umoci"
  "jq jq"
  "tmux tmux"
  "/usr/bin/time time"
  "podman podman"
  "/usr/sbin/dockerd docker.io"
  "perl perl-base"
)

missing=()
for pair in "${deps[@]}"; do
  cmd=${pair%% *}
  pkg=${pair#* }
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done

if [ "${1:-}" = --check ]; then
  if [ ${#missing[@]} -gt 0 ]; then
    echo "${missing[*]}"
    exit 1
  fi
  exit 0
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-system-deps: all present"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "install-system-deps: needs root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Keep packages' services (docker-registry's) from starting: invoke-rc.d asks policy-rc.d first,
# and exit code 101 means "action forbidden". Only a policy file we created is removed afterwards.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from ferry scripts/install-system-deps.sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

# The package lists may be empty or stale on a fresh machine: update once if a package is unknown.
if ! apt-get install -y "${missing[@]}"; then
  apt-get update
  apt-get install -y "${missing[@]}"
fi

still=$(bash "$0" --check || true)
if [ -n "$still" ]; then
  echo "install-system-deps: still missing after install: $still" >&2
  exit 1
fi
echo "install-system-deps: done"
