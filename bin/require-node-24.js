// Imported first by every entry point, before any TypeScript is loaded: Node.js before 24 cannot
// run the sources (type stripping), and would otherwise fail with a stack trace. Plain JavaScript
// that old Node versions parse; it must stay free of imports that need Node 24.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`TokenIM Auth needs Node.js 24 or newer (this is ${process.versions.node}); `
    + 'use npm start / npx tokenim-auth, which bring it\n');
  process.exit(1);
}
