#!/usr/bin/env node
// Obtains the real Temporal server, its SQL tool and the standalone Web UI server, the same versions the pinned
// CLI embeds in its dev server (temporal-version.json "server" and "ui"), for `sharemount server` on
// PostgreSQL. No release archive is reachable from these machines, so they are built from the official Go
// modules with `go install`, into
//   .tools/temporal-server/<server version>/{temporal-server,temporal-sql-tool,temporal-ui-server}
// The SQL tool embeds the module's schema/postgresql/v12 (`--schema-name`), so the tool, the server and the
// schema come from one module version and cannot disagree. Idempotent: a complete install (its stamp is
// written last) is kept; the Go caches make a rebuild cheap.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, log, which, placeExecutable } = require('./setup-temporal');

const PINNED = require('../temporal-version.json');
const TARGET_DIR = path.join(ROOT, '.tools', 'temporal-server', PINNED.server);
const STAMP = path.join(TARGET_DIR, 'installed');
const SERVER_MODULE = 'go.temporal.io/server';
/** One `go install` per module: packages of one module at one version may share a command line. */
const BUILDS = [
  { module: SERVER_MODULE, version: PINNED.server, binaries: { 'temporal-server': 'cmd/server', 'temporal-sql-tool': 'cmd/tools/sql' } },
  // The Web UI the CLI embeds, as its own server (the CLI serves it only next to the dev server).
  { module: 'github.com/temporalio/ui-server/v2', version: PINNED.ui, binaries: { 'temporal-ui-server': 'cmd/server' } },
];
const STAMP_TEXT = `server ${PINNED.server} ui ${PINNED.ui}`;

function findGo() {
  const candidates = [process.env.SHAREMOUNT_GO, which('go'), '/usr/local/go/bin/go'].filter(Boolean);
  return candidates.find((candidate) => spawnSync(candidate, ['version'], { encoding: 'utf8' }).status === 0);
}

function complete() {
  if (!fs.existsSync(STAMP) || fs.readFileSync(STAMP, 'utf8').trim() !== STAMP_TEXT) return false;
  const binaries = BUILDS.flatMap((build) => Object.keys(build.binaries));
  return binaries.every((name) => fs.existsSync(path.join(TARGET_DIR, name)));
}

function run(go, args, env) {
  const result = spawnSync(go, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`${path.basename(go)} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

function main() {
  if (complete()) {
    log(`temporal server ${PINNED.server} and UI ${PINNED.ui} already at ${path.relative(ROOT, TARGET_DIR)}`);
    return 0;
  }
  const go = findGo();
  if (!go) {
    process.stderr.write(
      `setup: Go was not found (looked on PATH, in SHAREMOUNT_GO and at /usr/local/go/bin/go). The Temporal server ` +
        `${PINNED.server} for \`sharemount server\` is built from its Go module ${SERVER_MODULE}; install Go 1.25 or later ` +
        `(https://go.dev/dl/ or your distribution's golang package) and run \`npm run setup:cluster\` again.\n`,
    );
    return 1;
  }
  const started = Date.now();
  try {
    for (const build of BUILDS) buildModule(go, build);
    fs.writeFileSync(STAMP, `${STAMP_TEXT}\n`);
    log(
      `installed temporal server ${PINNED.server} and UI ${PINNED.ui} at ${path.relative(ROOT, TARGET_DIR)} in ${Math.round((Date.now() - started) / 1000)} s`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`setup: ${error.message}\n`);
    return 1;
  }
}

function buildModule(go, { module, version, binaries }) {
  const gobin = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-server-gobin-'));
  try {
    log(`building ${module}@v${version} (${Object.values(binaries).join(', ')}) with ${go}; minutes when cold`);
    // Both modules carry their version as a constant in their source, so no -ldflags stamp is needed.
    run(go, ['install', ...Object.values(binaries).map((cmd) => `${module}/${cmd}@v${version}`)], { GOBIN: gobin, CGO_ENABLED: '0' });
    for (const [name, cmd] of Object.entries(binaries)) placeExecutable(path.join(gobin, path.basename(cmd)), path.join(TARGET_DIR, name));
  } finally {
    fs.rmSync(gobin, { recursive: true, force: true });
  }
}

process.exitCode = main();
