#!/usr/bin/env bash
# From a fresh clone to real workflows in the Web UI: system packages, npm packages, the pinned Temporal CLI,
# a build, then `sharemount demo` on the embedded dev server (both backends against local sandboxes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm ci --no-audit --no-fund
npm run setup
exec node bin/sharemount demo "$@"
