#!/usr/bin/env bash
# Installs what the tests need beyond Rust, pinned, so `cargo test` passes on a fresh machine:
#   - the wasm32-wasip2 target: first-party plugins and test guests are built for it;
#   - componentize-py (sdk/python/requirements.txt): the Python twins and starters;
#   - componentize-js and jco (sdk/js/package-lock.json, Node.js 20+): the JavaScript ones;
#   - Debian's docker-registry: the OCI registry the package tests start on 127.0.0.1.
# Safe to run again: each step is a no-op when its tools are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2

python3 -m pip install --quiet --disable-pip-version-check -r sdk/python/requirements.txt
# pyenv finds new console scripts (componentize-py) only after a rehash.
if command -v pyenv >/dev/null; then pyenv rehash; fi
command -v componentize-py >/dev/null || {
  echo "tests/setup.sh: componentize-py is installed but not on PATH ($(python3 -m site --user-base)/bin?)" >&2
  exit 1
}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "tests/setup.sh: the JavaScript SDK needs Node.js 20 or later (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
npm ci --prefix sdk/js --no-audit --no-fund --loglevel=error

if ! command -v docker-registry >/dev/null && [ ! -x /usr/bin/docker-registry ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker-registry >/dev/null
fi
