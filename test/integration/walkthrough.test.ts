/**
 * The README's Getting started, run as a reader would: its own marked commands (see
 * walkthrough-support.ts), in order, in an empty directory, against a local stack of its own (a real
 * kube-apiserver as the cluster, moto as AWS through AWS_ENDPOINT_URL), ending with the delivered Secret
 * read back with kubectl. And the fleet-repository layout of "Keeping the fleet's file in your own
 * repository": cred-courier packaged from inside the fleet's repository with the fleet's own file.
 *
 * Its own stack, like `npm run demo`: a reader's cluster has no cred-courier yet, so the default control
 * namespace must be free, and the suite's clusters are shared by every other test file.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDefaultServiceAccounts } from '../faults/cluster.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import { PROJECT_ROOT, type Rig, startRig } from '../rig/rig.ts';
import { type ProjectCopy, projectCopy } from '../unit/packaging/sls.ts';
import { skipReason, rig as suiteRig } from './rig-context.ts';
import { markedBlocks, outputOf, printedButMissing, runFlow } from './walkthrough-support.ts';

const README = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
/** The namespace the README's reader already has; a fresh cluster does not. */
const NAMESPACE = 'shop';
/** Not the README's placeholder, so a policy whose placeholders were not replaced shows. */
const REGISTRY_ACCOUNT = '210987654321';

describe.skipIf(!suiteRig)(`README walk-through${suiteRig ? '' : ` (skipped: ${skipReason})`}`, () => {
  let stack: Rig;
  let checkout: ProjectCopy;
  let work: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    stack = await startRig({ log: () => {} });
    const cluster = stack.clusters.a;
    await ensureNamespace(cluster, NAMESPACE);
    // An existing namespace has its default ServiceAccount (the controller manager makes it).
    await waitForDefaultServiceAccounts(cluster, [NAMESPACE]);
    // What a clone at a release tag plus `npm ci` gives: the sources and their node_modules.
    checkout = projectCopy(['bin', 'deploy']);
    work = mkdtempSync(join(tmpdir(), 'cred-courier-walkthrough-'));
    const tools = join(work, '.tools');
    mkdirSync(tools);
    symlinkSync(stack.kubectl, join(tools, 'kubectl'));
    const { AWS_PROFILE, AWS_SESSION_TOKEN, KUBECONFIG, ...inherited } = process.env;
    env = {
      ...inherited,
      PATH: `${tools}:${process.env.PATH ?? ''}`,
      AWS_ENDPOINT_URL: stack.aws.endpoint,
      AWS_ACCESS_KEY_ID: stack.aws.accessKeyId,
      AWS_SECRET_ACCESS_KEY: stack.aws.secretAccessKey,
      CRED_COURIER_CHECKOUT: checkout.dir,
      FORCE_COLOR: '0',
    };
  });

  afterAll(async () => {
    await stack?.stop();
    checkout?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('Getting started: from an empty directory to a delivered Secret read back with kubectl', async () => {
    // Prepare
    const blocks = markedBlocks(README, 'walkthrough');
    const dir = join(work, 'getting-started');
    mkdirSync(dir);
    const fleet = join(dir, 'fleet');
    const values = {
      AWS_REGION: stack.aws.region,
      FLEET: fleet,
      KUBECONFIG: stack.clusters.a.adminKubeconfigPath,
      REGISTRY_ACCOUNT,
    };

    // Act
    const result = await runFlow(blocks, { cwd: dir, env, values });

    // Assess
    expect(result.code, result.transcript).toBe(0);
    expect(blocks.map((b) => b.mode)).toContain('vars');
    expect(blocks.filter((b) => b.mode === 'skip').every((b) => b.detail.length > 0)).toBe(true);
    // What the README shows each step printing is what it printed (times, numbers, paths aside).
    const shown = result.steps.filter((s) => s.block.prints !== undefined && s.output !== undefined);
    expect(shown.length).toBeGreaterThanOrEqual(3);
    for (const step of shown) {
      expect(
        printedButMissing(step.output ?? '', step.block.prints ?? ''),
        `README line ${step.block.line}`,
      ).toEqual([]);
    }
    expect(outputOf(result, 'cred-courier validate')).toMatch(/clusters\.yaml: valid, 1 cluster\(s\)/);
    const packaged = result.steps.filter((s) => s.block.detail.includes('sls package'));
    expect(packaged.map((s) => s.output)).toEqual([
      expect.stringMatching(/Service packaged/),
      expect.stringMatching(/Service packaged/),
    ]);
    const register = outputOf(result, 'cred-courier register');
    expect(register).toMatch(/stored +cred-courier\/clusters\/my-cluster: created/);
    expect(register).toMatch(/secret-guard: active/);
    expect(outputOf(result, 'cred-courier run')).toMatch(
      /ok: 1 of 1 clusters ok, 0 failed; Secrets: 1 delivered, 0 failed/,
    );
    const seen = outputOf(result, 'kubectl -n "$NAMESPACE" get secret ecr-pull');
    expect(seen).toMatch(/ecr-pull +kubernetes\.io\/dockerconfigjson +1/);
    expect(seen).toContain('[{"name":"ecr-pull"}]');
    expect(seen).toMatch(/✓ ok +ecr shop\/ecr-pull .*\[default:referenced\]/);

    // The policies filled in from the function's role ARN name it, and the registry's account and region.
    const trust = JSON.parse(readFileSync(join(fleet, 'ecr-pull-trust.json'), 'utf8'));
    expect(trust.Statement[0].Condition.ArnEquals['aws:PrincipalArn']).toBe(
      `arn:aws:iam::123456789012:role/cred-courier-dev-${stack.aws.region}-lambdaRole`,
    );
    const pull = JSON.parse(readFileSync(join(fleet, 'ecr-pull-policy.json'), 'utf8'));
    expect(pull.Statement[1].Resource).toBe(
      `arn:aws:ecr:${stack.aws.region}:${REGISTRY_ACCOUNT}:repository/*`,
    );

    // The package bundles the fleet's file, from outside the checkout.
    expect(readFileSync(join(dir, 'cred-courier/dist/config/clusters.yaml'), 'utf8')).toBe(
      readFileSync(join(fleet, 'clusters.yaml'), 'utf8'),
    );

    // The delivered Secret, read back with kubectl: a pull secret for the registry the file names.
    const dockerconfig = execFileSync(
      stack.kubectl,
      ['-n', NAMESPACE, 'get', 'secret', 'ecr-pull', '-o', 'jsonpath={.data.\\.dockerconfigjson}'],
      { env: { ...env, KUBECONFIG: stack.clusters.a.adminKubeconfigPath }, encoding: 'utf8' },
    );
    const auths = JSON.parse(Buffer.from(dockerconfig, 'base64').toString('utf8')).auths as Record<
      string,
      { auth: string }
    >;
    const host = `${REGISTRY_ACCOUNT}.dkr.ecr.${stack.aws.region}.amazonaws.com`;
    expect(Object.keys(auths)).toEqual([host]);
    expect(Buffer.from(auths[host]?.auth ?? '', 'base64').toString('utf8')).toMatch(/^AWS:.+/);
  }, 600_000);

  it("the fleet's own repository: cred-courier inside it packages the fleet's file", async () => {
    // Prepare
    const blocks = markedBlocks(README, 'fleet');
    const dir = join(work, 'fleet-repository');
    mkdirSync(dir);

    // Act
    const result = await runFlow(blocks, { cwd: dir, env, values: {} });

    // Assess
    expect(result.code, result.transcript).toBe(0);
    expect(outputOf(result, 'cred-courier validate')).toMatch(
      /\.\.\/dev\/clusters\.yaml: valid, 1 cluster\(s\)/,
    );
    expect(outputOf(result, './sls.sh dev package')).toMatch(/Service packaged/);
    expect(readFileSync(join(dir, 'fleet/cred-courier/dist/config/clusters.yaml'), 'utf8')).toBe(
      readFileSync(join(dir, 'fleet/dev/clusters.yaml'), 'utf8'),
    );
  }, 600_000);
});
