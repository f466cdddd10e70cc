'use strict';
// Shared by the benchmarks: paths, building the C helpers, timing, a dev server, a quiet Temporal runtime.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
/**
 * The compiled project the benchmarks run. Not the shared dist/ (a parallel `npm run build` removes it under
 * a running benchmark, and it may be older than src/): a private build of the current src/, made once per
 * run, or $SHAREMOUNT_BENCH_DIST (e.g. the repo's own dist/ after `npm run build`).
 */
// Inside node_modules/ (ignored by git) so that the compiled files resolve the project's packages.
const DIST = process.env.SHAREMOUNT_BENCH_DIST || path.join(ROOT, 'node_modules', '.cache', 'sharemount-bench-dist');
process.env.SHAREMOUNT_BENCH_DIST = DIST; // for child processes

function ensureDist(force = false) {
  const marker = path.join(DIST, 'workflow-bundle.js');
  if (!force && fs.existsSync(marker)) return DIST;
  if (process.env.SHAREMOUNT_BENCH_DIST_FIXED) throw new Error(`${marker} is missing`);
  const start = process.hrtime.bigint();
  fs.rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', DIST], {
    stdio: 'inherit',
    cwd: ROOT,
  });
  const script = `require('@temporalio/worker').bundleWorkflowCode({ workflowsPath: ${JSON.stringify(path.join(DIST, 'workflows', 'index.js'))}, logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } }).then(({ code }) => require('fs').writeFileSync(${JSON.stringify(marker)}, code))`;
  execFileSync(process.execPath, ['-e', script], { stdio: 'inherit', cwd: ROOT });
  // Files the compiled code finds by a path relative to its own place in the repo.
  fs.copyFileSync(path.join(ROOT, 'temporal-version.json'), path.join(DIST, '..', 'temporal-version.json'));
  console.log(`bench: compiled src/ and bundled the workflows into ${DIST} in ${seconds(start).toFixed(1)} s`);
  return DIST;
}

// The pinned Temporal CLI, found from the repo (the private build lives elsewhere).
if (!process.env.SHAREMOUNT_TEMPORAL_BIN) {
  const { cli } = require(path.join(ROOT, 'temporal-version.json'));
  process.env.SHAREMOUNT_TEMPORAL_BIN = path.join(ROOT, '.tools', 'temporal', cli, 'temporal');
}

function requireDist(rel) {
  ensureDist();
  return require(path.join(DIST, rel));
}

/** gcc -O2 a C file into a private build dir (not dist/, which `npm run build` removes). */
function buildC(source, name) {
  const dir = path.join(os.tmpdir(), 'sharemount-bench-build');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, name);
  const src = path.join(ROOT, source);
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) {
    execFileSync('gcc', ['-O2', '-Wall', '-o', `${out}.tmp`, src], { stdio: 'inherit' });
    fs.renameSync(`${out}.tmp`, out);
  }
  return out;
}

/** The native walk helper: dist/native/sharemount-walk when built, else compiled here. */
function walkHelper() {
  if (process.env.SHAREMOUNT_WALK_HELPER) return process.env.SHAREMOUNT_WALK_HELPER;
  return buildC('src/host/walk/native/sharemount-walk.c', 'sharemount-walk');
}

/** A scratch directory on the file system of /tmp (the same one the trees live on). */
function scratch(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sharemount-bench-${prefix}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

function seconds(startNs) {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}

/** Runs a command, returns wall seconds; throws on failure. */
function timed(cmd, args, options = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...options });
  const wall = seconds(start);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return { wall, stdout: r.stdout.toString() };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = {
  n: (x) => Math.round(x).toLocaleString('en-US'),
  s: (x) => `${x.toFixed(x < 10 ? 3 : 1)} s`,
  ms: (x) => `${x.toFixed(1)} ms`,
  x: (x) => `${x.toFixed(x < 10 ? 2 : 0)}×`,
  mb: (kb) => `${(kb / 1024).toFixed(0)} MB`,
};

/** Prints rows as an aligned table (and returns them). */
function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const row of rows) console.log(`  ${row.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')}`);
  return rows;
}

let runtimeInstalled = false;
function quietTemporal() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const { Runtime, DefaultLogger, makeTelemetryFilterString } = require('@temporalio/worker');
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } } });
}

/** A Temporal dev server of our own (the pinned binary), headless, in memory. */
async function devServer() {
  const { startDevServer } = requireDist('temporal/devServer');
  return startDevServer({ uiPort: false });
}

function workflowBundle() {
  const file = path.join(ensureDist(), 'workflow-bundle.js');
  // dist/ may be rebuilt while we run: work from a private copy.
  const copy = path.join(os.tmpdir(), `sharemount-bench-bundle-${process.pid}.js`);
  fs.copyFileSync(file, copy);
  process.on('exit', () => fs.rmSync(copy, { force: true }));
  return copy;
}

function machine() {
  const df = spawnSync('df', ['-T', os.tmpdir()]).stdout.toString().trim().split('\n').pop().split(/\s+/);
  return {
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    tmpFs: `${df[1]} (${df[0]})`,
    node: process.version,
    load: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

module.exports = {
  ROOT,
  DIST,
  ensureDist,
  requireDist,
  buildC,
  walkHelper,
  scratch,
  seconds,
  timed,
  median,
  fmt,
  table,
  quietTemporal,
  devServer,
  workflowBundle,
  machine,
};
