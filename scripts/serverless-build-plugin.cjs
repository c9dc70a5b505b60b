'use strict';
/**
 * A local osls / Serverless Framework plugin: builds the handler bundle (scripts/build.ts) before the
 * deployment artifact is zipped, so `sls package` and `sls deploy` never package a missing or stale
 * dist/, and dist/config/clusters.yaml is the registration file named by the `config` param: the one
 * whose permissions and alarms the stack was generated from. (`sls deploy --package <dir>` deploys an
 * existing artifact and builds nothing.) It also cuts the framework's log statements of the function role
 * to what the runtime calls (see trimFrameworkLogStatements in scripts/serverless-config.ts).
 */
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

class CredCourierBuild {
  constructor(serverless, _options, { log } = {}) {
    this.serverless = serverless;
    this.log = log;
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.build(),
      // After every compile step, before the template is saved: the function role's log statements.
      'before:package:finalize': () => this.trimRole(),
    };
  }

  async trimRole() {
    const root = this.serverless.serviceDir ?? join(__dirname, '..');
    const { trimFrameworkLogStatements } = await import(
      pathToFileURL(join(root, 'scripts/serverless-config.ts')).href
    );
    trimFrameworkLogStatements(this.serverless.service.provider.compiledCloudFormationTemplate);
  }

  async build() {
    const root = this.serverless.serviceDir ?? join(__dirname, '..');
    const configFile = this.serverless.service.custom?.credCourier?.config;
    const { buildHandler } = await import(pathToFileURL(join(root, 'scripts/build.ts')).href);
    const { file, bytes } = await buildHandler({ root, ...(configFile ? { configFile } : {}) });
    this.log?.notice?.(`cred-courier: built ${file} (${(bytes / 1024).toFixed(0)} KiB) with ${configFile}`);
  }
}

module.exports = CredCourierBuild;
