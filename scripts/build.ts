/**
 * Bundles the Lambda handler with esbuild into dist/distribute.mjs (ESM, minified, with a source map)
 * and copies the registration file beside it. `sls package` packages exactly this folder.
 */
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');

export async function buildHandler(): Promise<{ file: string; bytes: number }> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'config'), { recursive: true });
  const file = join(out, 'distribute.mjs');
  await build({
    entryPoints: [join(root, 'functions/distribute.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    minify: true,
    sourcemap: true,
    legalComments: 'external',
    // Some dependencies are CommonJS and call require(); an ESM bundle needs one made for it.
    banner: {
      js: "import { createRequire as __ccRequire } from 'node:module'; const require = __ccRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  copyFileSync(join(root, 'config/clusters.yaml'), join(out, 'config/clusters.yaml'));
  return { file, bytes: statSync(file).size };
}

if (import.meta.main) {
  const { file, bytes } = await buildHandler();
  process.stdout.write(`${file}: ${(bytes / 1024).toFixed(0)} KiB\n`);
}
