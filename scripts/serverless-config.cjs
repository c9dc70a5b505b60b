'use strict';
/**
 * The `${file(./scripts/serverless-config.cjs):…}` variables of serverless.yml. osls (like the
 * Serverless Framework) loads variable files with require(), which knows .js/.cjs but not TypeScript,
 * so this shim imports scripts/serverless-config.ts (Node 24 strips its types) and hands its fragments
 * over. Inputs come from `custom.credCourier` (the params); the work is done once per set of inputs,
 * however many variables refer to it.
 *
 * A ConfigError or PackagingError (or a Node that cannot run the scripts) stops `sls package` right
 * here: the message goes to stderr as the first thing printed, as `cred-courier validate` prints it, and
 * the process exits 1. Thrown instead, it would come out under the framework's "Cannot resolve
 * serverless.yml: Variables resolution errored with" and a line for every other variable of this file.
 */
const { writeSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const serviceDir = join(__dirname, '..');
const moduleUrl = pathToFileURL(join(__dirname, 'serverless-config.ts')).href;

/** @type {{ key: string, fragments: Promise<unknown> } | undefined} */
let memo;

/** Stops packaging with cred-courier's own message first, before the framework prints anything of its own. */
function stop(message) {
  // Synchronous, so the whole message is out before the process ends.
  writeSync(2, `error: ${message}\n`);
  process.exit(1);
}

/** The package-time scripts are TypeScript: they need a Node that strips types (the project's Node 24). */
function ensureTypeStripping() {
  if (process.features?.typescript) return;
  stop(
    `Node ${process.version} cannot run the TypeScript package-time scripts: run the project's Node 24 ` +
      '(`npx sls …` or `npm run package` from the project folder, after `npm ci`)',
  );
}

/**
 * Params the stack no longer takes, and why; given anyway, they would be silently ignored. Read through
 * resolveVariable with a null fallback, so they are found on the command line and in serverless.yml alike.
 */
const RETIRED_PARAMS = {
  s3ScheduleMinutes:
    'the S3 schedule now runs every settings.s3IntervalMinutes of the registration file (the interval every ' +
    "S3 grant's durationSeconds is checked against): set it there, and drop --param s3ScheduleMinutes",
};

async function retiredParamProblems(resolveVariable) {
  const problems = [];
  for (const [name, why] of Object.entries(RETIRED_PARAMS)) {
    // A resolver that cannot read params with a fallback must not stop packaging: the param is then ignored.
    const value = await resolveVariable(`param:${name}, null`).catch(() => null);
    if (value !== null && value !== undefined) {
      problems.push(`param ${name} (${JSON.stringify(value)}) is no longer accepted: ${why}`);
    }
  }
  return problems;
}

async function fragments({ resolveVariable }) {
  ensureTypeStripping();
  // resolveVariable is what both osls and the Serverless Framework v4 pass to variable functions.
  const inputs = await resolveVariable('self:custom.credCourier');
  const key = JSON.stringify(inputs);
  if (memo?.key !== key) {
    const fragments = retiredParamProblems(resolveVariable)
      .then(async (retired) => {
        const module = await import(moduleUrl);
        if (retired.length > 0) throw new module.PackagingError(retired.join('; '));
        const all = await module.packagingFragments(inputs ?? {}, serviceDir);
        for (const warning of all.warnings) writeSync(2, `warning: ${warning}\n`);
        return all;
      })
      .catch((error) => {
        if (error?.name === 'ConfigError' || error?.name === 'PackagingError') stop(error.message);
        throw error;
      });
    memo = { key, fragments };
  }
  return memo.fragments;
}

/** The value of one fragment; every variable of this file shares one evaluation (and one failure). */
function fragment(name) {
  return async (context) => (await fragments(context))[name];
}

module.exports = {
  iamStatements: fragment('iamStatements'),
  schedules: fragment('schedules'),
  resources: fragment('resources'),
};
