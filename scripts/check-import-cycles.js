#!/usr/bin/env node
// Fails when the project's TypeScript files import each other in a circle (npm run lint runs it on src/). A
// cycle means two modules are one module in disguise, and under CommonJS one of them sees the other
// half-initialised. Type-only imports count too: they tie the layers together just the same.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

/** Every .ts file under dir, skipping declaration files. */
function sourceFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return entry.isFile() && file.endsWith('.ts') && !file.endsWith('.d.ts') ? [file] : [];
  });
}

/** The project file a relative specifier names, as CommonJS resolution finds it; undefined for packages. */
function resolve(fromFile, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(fromFile), specifier);
  return [base, `${base}.ts`, path.join(base, 'index.ts')].find((candidate) => candidate.endsWith('.ts') && fs.existsSync(candidate));
}

/** file -> the project files it imports: static, export-from, import(), require() and type-only imports. */
function importGraph(root) {
  const graph = new Map();
  for (const file of sourceFiles(root)) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    graph.set(file, [...new Set(importedFiles.map((ref) => resolve(file, ref.fileName)).filter(Boolean))]);
  }
  return graph;
}

/** The strongly connected components with more than one file, or one file that imports itself (Tarjan). */
function findCycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  let next = 0;
  function visit(file) {
    index.set(file, next);
    low.set(file, next);
    next += 1;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file), low.get(target)));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file), index.get(target)));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(component.sort());
  }
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) visit(file);
  return cycles;
}

/** One concrete circle through the component, for the message: a -> b -> a. */
function circleThrough(component, graph) {
  const members = new Set(component);
  const start = component[0];
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift();
    for (const target of graph.get(file) ?? []) {
      if (target === start) {
        const circle = [file];
        for (let at = previous.get(file); at !== undefined; at = previous.get(at)) circle.unshift(at);
        return [...circle, start];
      }
      if (members.has(target) && !previous.has(target)) {
        previous.set(target, file);
        queue.push(target);
      }
    }
  }
  return component;
}

function main() {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'src'));
  const graph = importGraph(root);
  const cycles = findCycles(graph);
  const shown = (file) => path.relative(process.cwd(), file).split(path.sep).join('/');
  if (cycles.length === 0) {
    process.stdout.write(`import cycles: none among ${graph.size} files under ${shown(root) || '.'}\n`);
    return;
  }
  process.stderr.write(`import cycles under ${shown(root) || '.'} (break each by moving what both sides need into a module of its own):\n`);
  for (const component of cycles) process.stderr.write(`  ${circleThrough(component, graph).map(shown).join(' -> ')}\n`);
  process.exitCode = 1;
}

main();
