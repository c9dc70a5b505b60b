#!/usr/bin/env node
// cred-courier's command line. The sources are TypeScript run by Node 24's type stripping.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `cred-courier needs Node.js 24 or newer (this is ${process.version}). ` +
      'Run it as `npx cred-courier` in the project, which uses the Node 24 pinned in package.json.\n',
  );
  process.exit(2);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
