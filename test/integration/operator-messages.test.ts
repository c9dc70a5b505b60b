/**
 * What an operator reads when something is wrong, on moto and the rig's real clusters: a kubeconfig
 * secret given by ARN is read in the ARN's region (the secret exists in that region only); a server
 * that is not a Kubernetes apiserver is named as such; a port fetch refuses keeps its cause;
 * `unregister --dry-run` without access to the cluster reports the inventory as unread; a failed step
 * of `register --dry-run` exits 1; and `register` says where it stored the kubeconfig and what to deploy.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigTags } from '../../src/aws/kubeconfig-writer.ts';
import { Pki } from '../faults/pki.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import { cli } from './register-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

/** A region other than the rig's default (eu-west-1): moto serves every region on one endpoint. */
const OTHER_REGION = 'ap-southeast-2';

/** A kubeconfig for `server` with the rig cluster a's CA and a token. */
function kubeconfigFor(server: string, token: string): string {
  const ca = Buffer.from(theRig().clusters.a.caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: c\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${ca}`,
    'users:',
    `- name: u\n  user:\n    token: ${token}`,
    'contexts:',
    '- name: x\n  context: { cluster: c, user: u }',
    'current-context: x',
    '',
  ].join('\n');
}

/** A local port where nothing listens (taken and released), so a connection to it is refused. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

describe.skipIf(!rig)(`operator messages${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-operator-'));
  const pki = new Pki();
  /**
   * A hand-written stand-in for a wrong endpoint: an HTTPS web server (trusted through cluster a's CA)
   * that answers every path 404 with an HTML page. No apiserver can be made to answer like this.
   */
  let webServer: Server;
  let webServerUrl = '';

  beforeAll(async () => {
    const cluster = theRig().clusters.a;
    const serving = pki.servingCert({ certFile: cluster.caCertFile, keyFile: cluster.caKeyFile });
    webServer = createServer({ cert: serving.cert, key: serving.key }, (_request, response) => {
      response.writeHead(404, { 'content-type': 'text/html' });
      response.end('<html><body><h1>Not Found</h1></body></html>');
    });
    await new Promise<void>((done) => webServer.listen(0, '127.0.0.1', done));
    webServerUrl = `https://127.0.0.1:${(webServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((done) => webServer?.close(done));
    pki.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A registration file of one cluster reading its kubeconfig from `secretId`, selecting `namespace`. */
  function configFile(name: string, secretId: string, namespace: string): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `clusters:\n  - name: ${name}\n    kubeconfigSecret: ${secretId}\n    namespaces: { names: [${namespace}] }\n    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }\n`,
    );
    return file;
  }

  /** Stores a kubeconfig in `region` (tagged as cred-courier's for `cluster`) and returns the secret's ARN. */
  async function storeKubeconfig(region: string, cluster: string, text: string): Promise<string> {
    const created = await new SecretsManagerClient({ region }).send(
      new CreateSecretCommand({
        Name: `cred-courier/clusters/${cluster}`,
        SecretString: text,
        Tags: kubeconfigTags(cluster),
      }),
    );
    return created.ARN ?? '';
  }

  it("plan reads a kubeconfig secret given by ARN in the ARN's region, not the default one", async () => {
    // Prepare: the secret exists in ap-southeast-2 only; the default region is the rig's eu-west-1.
    const cluster = theRig().clusters.a;
    const name = uniqueName('far');
    const namespace = uniqueName('app');
    await ensureNamespace(cluster, namespace);
    const arn = await storeKubeconfig(OTHER_REGION, name, kubeconfigFor(cluster.server, cluster.adminToken));
    const file = configFile(name, arn, namespace);
    const inDefaultRegion = await new SecretsManagerClient({})
      .send(new GetSecretValueCommand({ SecretId: arn }))
      .then(() => 'found')
      .catch((error: Error) => error.name);

    // Act
    const plan = await cli(['plan', '-c', file]);

    // Assess: the default region does not have it, so only a read in the ARN's region could succeed.
    expect(arn).toContain(`:secretsmanager:${OTHER_REGION}:`);
    expect(process.env.AWS_REGION).toBe('eu-west-1');
    expect(inDefaultRegion).toBe('ResourceNotFoundException');
    expect(plan.stderr).toBe('');
    expect(plan.code, plan.stdout).toBe(0);
    expect(plan.stdout).toContain(`${name}:\n  create   ecr ${namespace}/ecr-pull`);
  });

  it('a server answering 404 with a web page is named as not a Kubernetes apiserver, with what to do', async () => {
    // Prepare
    const name = uniqueName('web');
    const arn = await storeKubeconfig('eu-west-1', name, kubeconfigFor(webServerUrl, 'any-token'));

    // Act
    const plan = await cli(['plan', '-c', configFile(name, arn, 'default')]);

    // Assess
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('not a Kubernetes apiserver');
    expect(plan.stdout).toContain("check the kubeconfig's server URL");
    expect(plan.stdout).not.toMatch(/UnknownError|: unknown: /);
  });

  it('a port fetch refuses keeps its cause on the client-node path (check): network, "bad port", and what to do; delivery\'s own requests are not bound by fetch\'s port list', async () => {
    // Prepare: 10080 is on fetch's list of blocked ports; nothing listens there.
    const name = uniqueName('port');
    const arn = await storeKubeconfig('eu-west-1', name, kubeconfigFor('https://127.0.0.1:10080', 't'));
    const config = configFile(name, arn, 'default');

    // Act: check goes through client-node's API classes (WHATWG fetch); plan through delivery's requests.
    const check = await cli(['check', '-c', config]);
    const plan = await cli(['plan', '-c', config]);

    // Assess
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('network: fetch failed: bad port');
    expect(check.stdout).toMatch(/bad port.*serve the API on another port/);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(`${name}: unreachable, state unknown: refused: ECONNREFUSED`);
  });

  it('unregister --dry-run without access to the cluster says the inventory was not read, never "absent"', async () => {
    // Prepare: the stored kubeconfig points where nothing listens, and no admin kubeconfig is given.
    const name = uniqueName('gone');
    const server = `https://127.0.0.1:${await closedPort()}`;
    const arn = await storeKubeconfig('eu-west-1', name, kubeconfigFor(server, 't'));
    const file = configFile(name, arn, 'default');

    // Act
    const result = await cli(['unregister', name, '-c', file, '--keep-rbac', '--dry-run']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('inventory   unknown (not read: no access to the cluster)');
    expect(result.stdout).toContain('what unregister would delete there, is unknown');
    expect(result.stdout).not.toMatch(/inventory\s+absent/);
    expect(result.stdout).toContain(`secret in   ${arn} (region eu-west-1, account`);
  });

  it('register --dry-run whose connection is refused is a failed step: exit 1, the class and what to do', async () => {
    // Prepare: an admin kubeconfig for a port where nothing listens.
    const admin = join(dir, 'refused-admin.yaml');
    writeFileSync(admin, kubeconfigFor(`https://127.0.0.1:${await closedPort()}`, 'admin-token'));
    const file = join(dir, `${uniqueName('new')}.yaml`);

    // Act
    const result = await cli([
      'register',
      uniqueName('lab'),
      '-c',
      file,
      '--kubeconfig',
      admin,
      '--namespaces',
      'app',
      '--ecr-registry',
      'eu-west-1',
      '--dry-run',
    ]);

    // Assess
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/refused: .*ECONNREFUSED/);
    expect(result.stdout + result.stderr).toContain('to do: ');
  });

  it('register --region stores the kubeconfig in that region and says where, and to deploy', async () => {
    // Prepare
    const cluster = theRig().clusters.b;
    const name = uniqueName('reg');
    const namespace = uniqueName('app');
    await ensureNamespace(cluster, namespace);
    const file = join(dir, `${name}.yaml`);

    // Act
    const result = await cli([
      'register',
      name,
      '-c',
      file,
      '--kubeconfig',
      cluster.adminKubeconfigPath,
      '--namespaces',
      namespace,
      '--ecr-registry',
      'eu-west-1',
      '--region',
      OTHER_REGION,
    ]);

    // Assess: stored in the region asked for, not the default, and the output says so.
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const described = await new SecretsManagerClient({ region: OTHER_REGION }).send(
      new DescribeSecretCommand({ SecretId: `cred-courier/clusters/${name}` }),
    );
    expect(described.ARN).toContain(`:secretsmanager:${OTHER_REGION}:`);
    expect(result.stdout).toContain(`stored in   ${described.ARN} (region ${OTHER_REGION}, account`);
    expect(result.stdout).toMatch(/next: .*`npm run deploy`.*--param config=/);
  });
});
