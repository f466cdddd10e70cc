#!/usr/bin/env node
// Prebuilds the workflow bundle so production workers start without running webpack (see src/worker.ts).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { bundleWorkflowCode } = require('@temporalio/worker');

const dist = path.resolve(__dirname, '..', 'dist');
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} };
bundleWorkflowCode({ workflowsPath: path.join(dist, 'workflows', 'index.js'), logger: silent }).then(
  ({ code }) => {
    fs.writeFileSync(path.join(dist, 'workflow-bundle.js'), code);
    process.stdout.write('build: workflow bundle written to dist/workflow-bundle.js\n');
  },
  (error) => {
    process.stderr.write(`build: cannot bundle the workflows: ${error.message}\n`);
    process.exitCode = 1;
  },
);
