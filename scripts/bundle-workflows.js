#!/usr/bin/env node
// Prebuilds the workflow bundle so production workers start without running webpack (see src/worker.ts), and
// fails the build when a module that has no business in workflow code enters it: the bundle is loaded into
// every workflow context, and a stray import once made it 2.9 MB, three quarters of it a JSON-schema validator.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { builtinModules } = require('node:module');
const { bundleWorkflowCode } = require('@temporalio/worker');

/**
 * Packages workflow code never needs; each would only be there through an import that should be an activity's
 * or a type-only one. The SDK refuses most Node built-ins itself but lets assert, url and util through to
 * their npm stand-ins; none of them is needed either, so every built-in is listed.
 */
const DENIED_PACKAGES = [
  'ajv',
  '@aws-sdk',
  '@smithy',
  'commander',
  'cli-progress',
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/envconfig',
  '@temporalio/testing',
  '@temporalio/worker',
  ...builtinModules.filter((name) => !name.startsWith('_')),
];

/** Workflows import only domain code and other workflow files from the project (src/ or its build, dist/). */
const ALLOWED_PROJECT_DIRS = ['workflows', 'domain'];

const root = path.resolve(__dirname, '..');

const isDenied = (name) => DENIED_PACKAGES.some((denied) => name === denied || name.startsWith(`${denied}/`));

/** A file as a reader finds it: project-relative, or from node_modules/ on however the tree is linked. */
function shown(resource) {
  const inPackages = resource.split(`${path.sep}node_modules${path.sep}`);
  if (inPackages.length > 1) return `node_modules/${inPackages[inPackages.length - 1].split(path.sep).join('/')}`;
  return path.relative(root, resource).split(path.sep).join('/');
}

/** What a bundled module is, for the deny list: a package name, a built-in, or a project file. */
function origin(module) {
  if (module.externalType !== undefined) return { builtin: String(module.userRequest ?? module.request).replace(/^node:/, '') };
  const resource = typeof module.resource === 'string' ? module.resource.split('?')[0] : undefined;
  if (resource === undefined) return {};
  if (resource.startsWith('node:')) return { builtin: resource.slice('node:'.length) };
  const inPackages = resource.split(`${path.sep}node_modules${path.sep}`);
  if (inPackages.length > 1) {
    const parts = inPackages[inPackages.length - 1].split(path.sep);
    return { packageName: parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0] };
  }
  return { projectFile: shown(resource) };
}

/** Why a module of this origin must not be in the bundle, or undefined. */
function deniedReason({ builtin, packageName, projectFile }) {
  if (builtin !== undefined) return isDenied(builtin) ? `${builtin} (a Node built-in)` : undefined;
  if (packageName !== undefined) return isDenied(packageName) ? packageName : undefined;
  if (projectFile === undefined) return undefined;
  const [top, dir] = projectFile.split('/');
  if ((top === 'src' || top === 'dist') && !ALLOWED_PROJECT_DIRS.includes(dir))
    return `${projectFile} (workflows import only domain code, other workflow files and types)`;
  return undefined;
}

/** Adds to `found` every denied module webpack puts in the bundle, once each, with the file that imports it. */
function denyListPlugin(found) {
  return {
    apply(compiler) {
      compiler.hooks.compilation.tap('sharemount-deny-list', (compilation) => {
        compilation.hooks.finishModules.tap('sharemount-deny-list', (modules) => {
          for (const module of modules) {
            const reason = deniedReason(origin(module));
            if (reason === undefined || found.has(reason)) continue;
            // The importer outside the denied package is the line to change; one inside it says nothing.
            let issuer = compilation.moduleGraph.getIssuer(module);
            while (issuer && deniedReason(origin(issuer)) === reason) issuer = compilation.moduleGraph.getIssuer(issuer);
            const by = issuer && typeof issuer.resource === 'string' ? shown(issuer.resource.split('?')[0]) : undefined;
            found.set(reason, by);
          }
        });
      });
    },
  };
}

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} };

/** The bundle of `workflowsPath`; rejects naming every denied module that entered it. */
async function bundleWorkflows(workflowsPath, logger = quiet) {
  const found = new Map();
  let bundled;
  try {
    bundled = await bundleWorkflowCode({
      workflowsPath,
      logger,
      webpackConfigHook: (config) => ({ ...config, plugins: [...(config.plugins ?? []), denyListPlugin(found)] }),
    });
  } catch (error) {
    // The SDK's own refusal (a Node built-in) comes first; the list says which import chain to look at.
    if (found.size === 0) throw error;
  }
  if (found.size) {
    throw new Error(
      `these modules must not be in the workflow bundle:\n${[...found]
        .sort()
        .map(([m, by]) => `  - ${m}${by ? `, imported by ${by}` : ''}\n`)
        .join('')}` + 'import them from an activity, or use `import type` when a workflow needs only their types',
    );
  }
  return bundled.code;
}

module.exports = { bundleWorkflows, DENIED_PACKAGES };

if (require.main === module) {
  const dist = path.join(root, 'dist');
  bundleWorkflows(path.join(dist, 'workflows', 'index.js')).then(
    (code) => {
      fs.writeFileSync(path.join(dist, 'workflow-bundle.js'), code);
      process.stdout.write(`build: workflow bundle written to dist/workflow-bundle.js (${(code.length / 1e6).toFixed(2)} MB)\n`);
    },
    (error) => {
      process.stderr.write(`build: cannot bundle the workflows: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
