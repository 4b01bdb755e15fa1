#!/usr/bin/env node
// Node 24 runs the TypeScript sources directly (type stripping): no build step. The version check
// is a static import, so it runs before the dynamic import loads any TypeScript.
import './require-node-24.js';

await import('../src/cli/main.ts');
