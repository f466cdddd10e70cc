#!/usr/bin/env bash
# Builds the native ownership walk (src/host/walk/native/sharemount-walk.c).
#
#   build-native.sh          the prebuilt helpers the release tarball carries (npm run build does this):
#                            prebuilt/linux-x64/sharemount-walk and prebuilt/linux-arm64/sharemount-walk, linked
#                            statically (no library of the node is needed: Debian 12 and 13, Proxmox VE 8 and 9,
#                            any libc), each with its sha256sum file, so a node without a compiler runs the native
#                            walk. A missing toolchain (gcc; gcc-aarch64-linux-gnu + libc6-dev-arm64-cross) skips
#                            its architecture with a message, or fails the build when SHAREMOUNT_REQUIRE_PREBUILT=1
#                            (CI and releases).
#   build-native.sh --here   from source for this machine only, when an operator asks: dist/native/sharemount-walk
#                            and its sha256sum file; it then runs instead of the prebuilt one (src/host/walk/helper.ts).
#
# Without any helper the walk uses the Node engine: same rules, slower (BENCHMARKS.md); doctor says which runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source_file=src/host/walk/native/sharemount-walk.c
flags=(-O2 -Wall -Wextra -static -s)

# compile <compiler> <output>: a temporary file, then renamed, so a helper is never seen half written; the
# checksum file is written after it, and a helper whose checksum file is missing or stale does not run.
compile() {
  local cc=$1 out=$2
  mkdir -p "$(dirname "$out")"
  rm -f "$out.sha256"
  "$cc" "${flags[@]}" -o "$out.tmp" "$source_file"
  mv -f "$out.tmp" "$out"
  (cd "$(dirname "$out")" && sha256sum "$(basename "$out")" >"$(basename "$out").sha256")
}

if [ "${1:-}" = "--here" ]; then
  cc=${CC:-$(command -v gcc || command -v cc || true)}
  if [ -z "$cc" ]; then
    echo "build-native: no C compiler (apt-get install gcc libc6-dev); the prebuilt helper or the Node walk runs" >&2
    exit 1
  fi
  compile "$cc" dist/native/sharemount-walk
  echo "build-native: built here from source: dist/native/sharemount-walk ($(cut -c1-16 dist/native/sharemount-walk.sha256)…)"
  exit 0
fi

# Node's process.arch → the GNU triple whose cross compiler builds it (Debian: gcc-<triple>); on a host of the
# same architecture the plain gcc does too.
declare -A triples=([x64]=x86_64-linux-gnu [arm64]=aarch64-linux-gnu)
declare -A machines=([x64]=x86_64 [arm64]=aarch64)
built=() missing=()
for arch in x64 arm64; do
  cc=$(command -v "${triples[$arch]}-gcc" || true)
  if [ -z "$cc" ] && [ "$(uname -m)" = "${machines[$arch]}" ]; then cc=$(command -v gcc || command -v cc || true); fi
  out=prebuilt/linux-$arch/sharemount-walk
  # a helper left from an older source must not ship beside fresh ones
  rm -f "$out" "$out.sha256"
  if [ -z "$cc" ]; then
    missing+=("linux-$arch (no ${triples[$arch]}-gcc)")
    continue
  fi
  compile "$cc" "$out"
  built+=("linux-$arch")
done
if [ ${#built[@]} -gt 0 ]; then echo "build-native: prebuilt helpers for ${built[*]} in prebuilt/"; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-native: no prebuilt helper for ${missing[*]}: scripts/install-system-deps.sh installs the toolchains" >&2
  if [ "${SHAREMOUNT_REQUIRE_PREBUILT:-}" = 1 ]; then exit 1; fi
fi
