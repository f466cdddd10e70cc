#!/usr/bin/env bash
# Builds the native ownership walk (src/host/walk/native/sharemount-walk.c) when a C compiler is there.
# Without it the activity uses the Node walk: same rules, slower (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
cc=${CC:-$(command -v gcc || command -v cc || true)}
if [ -z "$cc" ]; then
  echo "build: no C compiler; the ownership walk will use the Node implementation"
  exit 0
fi
mkdir -p dist/native
"$cc" -O2 -Wall -Wextra -o dist/native/sharemount-walk src/host/walk/native/sharemount-walk.c
echo "build: native ownership walk at dist/native/sharemount-walk"
