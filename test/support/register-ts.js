// Lets a plain `node` child process load the project's TypeScript (src/ and test/support/) without a build:
// each .ts file is transpiled on require with the project's own compiler, no type checking (jest and tsc do
// that). Used by the worker processes the durability tests start and SIGKILL (test/support/workerProcess.ts).
'use strict';
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true, sourceMap: false },
  });
  module._compile(outputText, filename);
};
