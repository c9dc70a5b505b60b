/**
 * Bundles the Lambda handler with esbuild into dist/distribute.mjs (ESM, minified, with a source map)
 * and copies the registration file beside it as dist/config/clusters.yaml, the path the function reads
 * (`CRED_COURIER_CONFIG`). `sls package` packages exactly these files.
 *
 *   node scripts/build.ts [registration file]   # default: config/clusters.yaml
 *
 * `sls package` and `sls deploy` (so `npm run package` and `npm run deploy`) run this build themselves
 * (scripts/serverless-build-plugin.cjs), once, with the registration file given by the `config` param, so
 * the packaged file is always the one whose permissions and alarms were generated. Run it alone only to
 * look at the bundle.
 */
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export const DEFAULT_CONFIG_FILE = 'config/clusters.yaml';

export interface BuildOptions {
  /** The registration file to package, relative to `root` unless absolute; default config/clusters.yaml. */
  readonly configFile?: string;
  /** The project folder holding functions/ and receiving dist/; default this script's project. */
  readonly root?: string;
}

export async function buildHandler(options: BuildOptions = {}): Promise<{ file: string; bytes: number }> {
  const root = options.root ?? projectRoot;
  const out = join(root, 'dist');
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
  copyFileSync(resolve(root, options.configFile ?? DEFAULT_CONFIG_FILE), join(out, 'config/clusters.yaml'));
  return { file, bytes: statSync(file).size };
}

if (import.meta.main) {
  const configFile = process.argv[2];
  const { file, bytes } = await buildHandler(configFile === undefined ? {} : { configFile });
  process.stdout.write(`${file}: ${(bytes / 1024).toFixed(0)} KiB\n`);
}
