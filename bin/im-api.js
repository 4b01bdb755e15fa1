#!/usr/bin/env node
// `npm run example:im-api`: the example TokenIM API (src/resource-server/main.ts). The Node.js
// version is checked first, in plain JavaScript, as in bin/server.js.
import './require-node-24.js';

await import('../src/resource-server/main.ts');
