#!/usr/bin/env node
// `node bin/server.js`: the server from the TypeScript sources (`npm start` runs the compiled
// dist/main.js instead). Node.js before 24 refuses a .ts file with a stack trace
// (ERR_UNKNOWN_FILE_EXTENSION) before any code in it runs, so the check is here, in plain
// JavaScript: a static import, which runs before the dynamic import loads any TypeScript.
import './require-node-24.js';

await import('../src/main.ts');
