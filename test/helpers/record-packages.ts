// Preloaded with NODE_OPTIONS="--import <this file>" and RECORD_PACKAGES_FILE=<path>: at exit, the
// process writes the npm packages it loaded, one a line (what lazy loading must keep out).
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';

const file = process.env.RECORD_PACKAGES_FILE;
const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match) loaded.add(match[1]!);
    return nextLoad(url, context);
  },
});
if (file) process.on('exit', () => writeFileSync(file, [...loaded].sort().join('\n')));
