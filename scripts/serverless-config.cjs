'use strict';
/**
 * The `${file(./scripts/serverless-config.cjs):…}` variables of serverless.yml. osls (like the
 * Serverless Framework) loads variable files with require(), which knows .js/.cjs but not TypeScript,
 * so this shim imports scripts/serverless-config.ts (Node 24 strips its types) and hands its fragments
 * over. Inputs come from `custom.credCourier` (the params); the work is done once per set of inputs,
 * however many variables refer to it.
 *
 * A ConfigError or PackagingError reaches osls with its message only (no stack trace), so `sls package`
 * fails with the same path-pointing lines as `cred-courier validate`.
 */
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const serviceDir = join(__dirname, '..');
const moduleUrl = pathToFileURL(join(__dirname, 'serverless-config.ts')).href;

/** @type {{ key: string, fragments: Promise<unknown> } | undefined} */
let memo;

/** The package-time scripts are TypeScript: they need a Node that strips types (the project's Node 24). */
function ensureTypeStripping() {
  if (process.features?.typescript) return;
  const error = new Error(
    `Node ${process.version} cannot run the TypeScript package-time scripts: run the project's Node 24 ` +
      '(`npx sls …` or `npm run package` from the project folder, after `npm ci`)',
  );
  error.stack = error.message;
  throw error;
}

async function fragments({ resolveVariable }) {
  ensureTypeStripping();
  // resolveVariable is what both osls and the Serverless Framework v4 pass to variable functions.
  const inputs = await resolveVariable('self:custom.credCourier');
  const key = JSON.stringify(inputs);
  if (memo?.key !== key) {
    const fragments = import(moduleUrl)
      .then((module) => module.packagingFragments(inputs ?? {}, serviceDir))
      .catch((error) => {
        if (error?.name === 'ConfigError' || error?.name === 'PackagingError') {
          // What osls prints is the stack; ours is the message, without frames.
          error.stack = `${error.name}: ${error.message}`;
        }
        throw error;
      });
    memo = { key, fragments };
  }
  return memo.fragments;
}

/**
 * The value of one fragment. When the file or a param is invalid every variable fails (none resolves to
 * a stand-in), but only `iamStatements`, which serverless.yml always uses, carries the full message;
 * the others point at it, so the problems are listed once.
 */
function fragment(name, full = false) {
  return async (context) => {
    let all;
    try {
      all = await fragments(context);
    } catch (error) {
      if (full || !(error?.name === 'ConfigError' || error?.name === 'PackagingError')) throw error;
      const pointer = new Error(
        'not resolved: the registration file or a param is invalid (see provider.iam.role.statements)',
      );
      pointer.stack = pointer.message;
      throw pointer;
    }
    return all[name];
  };
}

module.exports = {
  iamStatements: fragment('iamStatements', true),
  schedules: fragment('schedules'),
  resources: fragment('resources'),
};
