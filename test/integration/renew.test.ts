/**
 * Renewal of the stored TokenRequest token on the rig's real apiservers and moto's Secrets Manager: a
 * cluster registered with a short real lifetime (20 minutes) is renewed by a run whose clock is past
 * half of it; the new token works alone, the old version stays as AWSPREVIOUS and delivery succeeded.
 * Without the renewal verb the run reports the failure and still delivers; before the threshold nothing
 * is renewed (no TokenRequest, no PutSecretValue); two runs renewing at once store one version.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type AwsClients, defaultAwsClients } from '../../src/aws/clients.ts';
import { secretsManagerKubeconfigs } from '../../src/aws/kubeconfig-store.ts';
import { renewalRequestToken } from '../../src/aws/kubeconfig-writer.ts';
import { loadConfig } from '../../src/config/load.ts';
import { checkClusters } from '../../src/register/check.ts';
import { objectName } from '../../src/register/rbac.ts';
import { registerCluster } from '../../src/register/register.ts';
import { clusterStatus } from '../../src/register/status.ts';
import { tokenClaims } from '../../src/register/token.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import { type RigCluster, waitFor } from '../rig/rig.ts';
import { capturedRun } from './fixtures.ts';
import { registerOptions, tokenOf } from './register-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

/** 20 minutes: the apiserver's minimum is 10; renewal is due after 10 (the default fraction 0.5). */
const LIFETIME_SECONDS = 1200;
const PAST_THRESHOLD_MS = 11 * 60 * 1000;

const sm = () => new SecretsManagerClient({});

async function current(secretId: string): Promise<{ text: string; versionId: string }> {
  const value = await sm().send(new GetSecretValueCommand({ SecretId: secretId }));
  return { text: value.SecretString ?? '', versionId: value.VersionId ?? '' };
}

/** Version id → stages, as Secrets Manager (moto) lists them. */
async function versions(secretId: string): Promise<Record<string, string[]>> {
  const listed = await sm().send(new ListSecretVersionIdsCommand({ SecretId: secretId }));
  return Object.fromEntries((listed.Versions ?? []).map((v) => [v.VersionId ?? '', v.VersionStages ?? []]));
}

/** The username the apiserver gives `token` (SelfSubjectReview with that token alone), or its status. */
async function whoIs(cluster: RigCluster, token: string): Promise<string> {
  const response = await kubeRequest(
    cluster,
    token,
    'POST',
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  );
  if (response.status !== 201) return `HTTP ${response.status}`;
  return (JSON.parse(response.body) as { status: { userInfo: { username: string } } }).status.userInfo
    .username;
}

/** Whether `token` may create a token for cred-courier in `control` (SelfSubjectAccessReview). */
async function mayRenew(cluster: RigCluster, token: string, control: string): Promise<boolean> {
  const response = await kubeRequest(
    cluster,
    token,
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: {
        resourceAttributes: {
          verb: 'create',
          resource: 'serviceaccounts',
          subresource: 'token',
          group: '',
          namespace: control,
          name: 'cred-courier',
        },
      },
    },
  );
  return (JSON.parse(response.body) as { status?: { allowed?: boolean } }).status?.allowed === true;
}

/** Secrets Manager calls by command name, through the real client (moto). */
function countingSecrets(onPut?: () => Promise<void>): {
  aws: AwsClients;
  counts: Record<string, number>;
  errors: string[];
} {
  const real = defaultAwsClients();
  const counts: Record<string, number> = {};
  const errors: string[] = [];
  const client = real.secretsManager();
  return {
    counts,
    errors,
    aws: {
      ...real,
      secretsManager: () => ({
        // biome-ignore lint/suspicious/noExplicitAny: forwards every overload of SecretsApi.send
        send: async (command: any) => {
          const name = (command as object).constructor.name.replace(/Command$/, '');
          counts[name] = (counts[name] ?? 0) + 1;
          if (command instanceof PutSecretValueCommand) await onPut?.();
          try {
            return await client.send(command);
          } catch (error) {
            errors.push(`${name}: ${(error as Error).name}`);
            throw error;
          }
        },
      }),
    },
  };
}

describe.skipIf(!rig)(`token renewal on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-renew-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A cluster registered with `register` (its generated RBAC) and a 20-minute token. */
  async function registered(which: 'a' | 'b') {
    const rigCluster = theRig().clusters[which];
    const name = uniqueName('renew');
    const app = uniqueName('app');
    const control = uniqueName('cc');
    await ensureNamespace(rigCluster, app);
    const file = join(dir, `${name}.yaml`);
    const secretId = `cred-courier/test/${name}`;
    writeFileSync(
      file,
      `settings:
  controlNamespace: ${control}
  clusterDeadlineSeconds: 30
clusters:
  - name: ${name}
    kubeconfigSecret: ${secretId}
    namespaces: { names: [${app}] }
    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }
`,
    );
    const report = await registerCluster(
      registerOptions(
        { configFile: file, cluster: name, adminKubeconfigPath: rigCluster.adminKubeconfigPath },
        { token: { kind: 'token-request', seconds: LIFETIME_SECONDS } },
      ),
    );
    expect(report.ok, JSON.stringify(report.verification?.items)).toBe(true);
    expect(report.verification?.permissions).toContainEqual(
      expect.objectContaining({
        permission: `create serviceaccounts/token/cred-courier in ${control}`,
        allowed: true,
      }),
    );
    const stored = await current(secretId);
    return { rigCluster, name, app, control, file, secretId, stored, config: await loadConfig(file) };
  }

  const tokenRequests = (requests: readonly { method: string; path: string }[]) =>
    requests.filter((r) => r.method === 'POST' && r.path.endsWith('/serviceaccounts/cred-courier/token'));

  it('a run past half the lifetime renews the token: the new one works alone, the old version is AWSPREVIOUS, delivery succeeded', async () => {
    // Prepare
    const setup = await registered('a');
    const oldToken = tokenOf(setup.stored.text);
    const oldClaims = tokenClaims(oldToken);
    const { aws, counts } = countingSecrets();
    // A warm Lambda's cache: a TTL far longer than the test.
    const kubeconfigs = secretsManagerKubeconfigs(aws.secretsManager(), { ttlSeconds: 3600 });
    const clock = new Date(Date.now() + PAST_THRESHOLD_MS);

    // Act
    const run = await capturedRun(setup.config, { aws, kubeconfigs, now: () => clock });

    // Assess
    const cluster = run.result.clusters[0];
    expect(run.result.ok).toBe(true);
    expect(cluster?.secrets.map((s) => `${s.namespace}/${s.secretName}:${s.action}`)).toEqual([
      `${setup.app}/ecr-pull:created`,
    ]);
    expect(cluster?.credential?.renewal).toEqual({ outcome: 'renewed' });
    const after = await current(setup.secretId);
    const newToken = tokenOf(after.text);
    expect(newToken).not.toBe(oldToken);
    const newClaims = tokenClaims(newToken);
    expect(cluster?.credential).toEqual({
      kind: 'token',
      expiresAt: newClaims?.expiresAt?.toISOString(),
      renewal: { outcome: 'renewed' },
    });
    // The same lifetime as the token it replaces, and the same user.
    expect(((newClaims?.expiresAt?.getTime() ?? 0) - (newClaims?.issuedAt?.getTime() ?? 0)) / 1000).toBe(
      LIFETIME_SECONDS,
    );
    expect(newClaims?.subject).toBe(oldClaims?.subject);
    expect(await whoIs(setup.rigCluster, newToken)).toBe(
      `system:serviceaccount:${setup.control}:cred-courier`,
    );
    // The old token still works until its exp: other warm containers keep delivering with it.
    expect(await whoIs(setup.rigCluster, oldToken)).toBe(
      `system:serviceaccount:${setup.control}:cred-courier`,
    );
    expect(await versions(setup.secretId)).toEqual({
      [setup.stored.versionId]: ['AWSPREVIOUS'],
      [after.versionId]: ['AWSCURRENT'],
    });
    expect(after.versionId).toBe(renewalRequestToken(setup.secretId, setup.stored.versionId));
    // Same server and CA, one user with only a token.
    const oldDoc = parse(setup.stored.text) as { clusters: unknown[] };
    const newDoc = parse(after.text) as { clusters: unknown[]; users: { user: object }[] };
    expect(newDoc.clusters).toEqual(oldDoc.clusters);
    expect(newDoc.users.map((u) => Object.keys(u.user))).toEqual([['token']]);
    // Exactly one TokenRequest; one read for delivery, one past the cache for the version id.
    expect(tokenRequests(run.requests)).toHaveLength(1);
    expect(counts).toEqual({ GetSecretValue: 2, DescribeSecret: 1, PutSecretValue: 1 });
    // The new token was registered with the run's redactor and never logged.
    expect(run.redactor.scrub(`x ${newToken} x`)).not.toContain(newToken);
    expect(run.lines.join('\n')).not.toContain(newToken);
    // This warm process uses the new version at once, without waiting for the TTL.
    expect(tokenOf(await kubeconfigs.get(setup.name, setup.secretId))).toBe(newToken);
    expect(counts.GetSecretValue).toBe(2);
    // The next run finds the new token (just issued) not due: nothing more is renewed.
    const next = await capturedRun(setup.config, { aws, kubeconfigs });
    expect(next.result.ok).toBe(true);
    expect(next.result.clusters[0]?.credential?.renewal).toBeUndefined();
    expect(tokenRequests(next.requests)).toHaveLength(0);
    expect(counts.PutSecretValue).toBe(1);
  });

  it('a run before the threshold renews nothing: no TokenRequest, no PutSecretValue', async () => {
    // Prepare
    const setup = await registered('b');
    const { aws, counts } = countingSecrets();
    const kubeconfigs = secretsManagerKubeconfigs(aws.secretsManager(), { ttlSeconds: 0 });

    // Act
    const run = await capturedRun(setup.config, { aws, kubeconfigs });

    // Assess
    expect(run.result.ok).toBe(true);
    const expiresAt = tokenClaims(tokenOf(setup.stored.text))?.expiresAt?.toISOString();
    expect(run.result.clusters[0]?.credential).toEqual({ kind: 'token', expiresAt });
    expect(tokenRequests(run.requests)).toHaveLength(0);
    expect(counts).toEqual({ GetSecretValue: 1 });
    expect(Object.keys(await versions(setup.secretId))).toEqual([setup.stored.versionId]);
  });

  it('without the renewal verb in the Role the run reports the renewal failure (forbidden) and still delivers; the next run with it renews', async () => {
    // Prepare
    const setup = await registered('a');
    const c = setup.rigCluster;
    const rolePath = `/apis/rbac.authorization.k8s.io/v1/namespaces/${setup.control}/roles/${objectName(setup.control)}`;
    const role = JSON.parse((await kubeRequest(c, c.adminToken, 'GET', rolePath)).body) as {
      rules: { resources: string[] }[];
    };
    const withoutRenewal = {
      ...role,
      rules: role.rules.filter((r) => !r.resources.includes('serviceaccounts/token')),
    };
    expect(withoutRenewal.rules.length).toBe(role.rules.length - 1);
    expect((await kubeRequest(c, c.adminToken, 'PUT', rolePath, withoutRenewal)).status).toBe(200);
    const storedToken = tokenOf(setup.stored.text);
    // RBAC changes take a moment to reach the authorizer: wait until the denial is in effect.
    await waitFor(
      'renewal verb removed',
      async () => !(await mayRenew(c, storedToken, setup.control)),
      15_000,
    );
    const { aws, counts } = countingSecrets();
    const kubeconfigs = secretsManagerKubeconfigs(aws.secretsManager(), { ttlSeconds: 0 });
    const clock = new Date(Date.now() + PAST_THRESHOLD_MS);

    // Act
    let run = await capturedRun(setup.config, { aws, kubeconfigs, now: () => clock });

    // Assess
    const cluster = run.result.clusters[0];
    expect(run.result.ok).toBe(true);
    expect(cluster?.ok).toBe(true);
    expect(cluster?.secrets.map((s) => s.action)).toEqual(['created']);
    expect(cluster?.credential?.renewal?.outcome).toBe('failed');
    expect(cluster?.credential?.renewal?.failure?.failureClass).toBe('forbidden');
    expect(cluster?.credential?.expiresAt).toBe(
      tokenClaims(tokenOf(setup.stored.text))?.expiresAt?.toISOString(),
    );
    expect(counts.PutSecretValue ?? 0).toBe(0);
    expect(Object.keys(await versions(setup.secretId))).toEqual([setup.stored.versionId]);
    expect(run.lines.join('\n')).toContain('stored token not renewed; the next run tries again');
    // check names the missing permission and says the token renews itself; status shows its expiry.
    const checked = (await checkClusters({ config: setup.config, kubeconfigs })).clusters[0];
    expect(checked?.ok).toBe(false);
    expect(checked?.permissions.filter((p) => !p.allowed).map((p) => p.permission)).toEqual([
      `create serviceaccounts/token/cred-courier in ${setup.control}`,
    ]);
    expect(checked?.items.find((i) => i.check === 'token-expiry')?.detail).toContain(
      'runs renew it automatically from',
    );
    const status = (await clusterStatus({ config: setup.config, kubeconfigs })).clusters[0];
    expect(status?.credential).toMatchObject({
      kind: 'token',
      expiresAt: cluster?.credential?.expiresAt,
      renewsFrom: expect.any(String),
    });
    expect(status?.credential?.secondsLeft).toBeGreaterThan(0);

    // Act: the verb back; the next run tries again
    const latest = JSON.parse((await kubeRequest(c, c.adminToken, 'GET', rolePath)).body) as object;
    expect(
      (await kubeRequest(c, c.adminToken, 'PUT', rolePath, { ...latest, rules: role.rules })).status,
    ).toBe(200);
    await waitFor('renewal verb back', () => mayRenew(c, storedToken, setup.control), 15_000);
    run = await capturedRun(setup.config, { aws, kubeconfigs, now: () => clock });

    // Assess
    expect(run.result.clusters[0]?.credential?.renewal).toEqual({ outcome: 'renewed' });
    expect(Object.values(await versions(setup.secretId)).sort()).toEqual([['AWSCURRENT'], ['AWSPREVIOUS']]);
  });

  it("a kubeconfig secret that is not cred-courier's is not renewed: no token minted, nothing written, delivery goes on", async () => {
    // Prepare
    const setup = await registered('b');
    await sm().send(
      new TagResourceCommand({
        SecretId: setup.secretId,
        Tags: [{ Key: 'managed-by', Value: 'someone-else' }],
      }),
    );
    const { aws, counts } = countingSecrets();
    const kubeconfigs = secretsManagerKubeconfigs(aws.secretsManager(), { ttlSeconds: 0 });
    const clock = new Date(Date.now() + PAST_THRESHOLD_MS);

    // Act
    const run = await capturedRun(setup.config, { aws, kubeconfigs, now: () => clock });

    // Assess
    const cluster = run.result.clusters[0];
    expect(run.result.ok).toBe(true);
    expect(cluster?.credential?.renewal?.outcome).toBe('failed');
    expect(cluster?.credential?.renewal?.failure?.message).toContain(
      `${setup.secretId} (kubeconfigSecret of cluster ${setup.name}) is not cred-courier's: its managed-by tag is "someone-else"`,
    );
    expect(tokenRequests(run.requests)).toHaveLength(0);
    expect(counts).toEqual({ GetSecretValue: 2, DescribeSecret: 1 });
    expect(Object.keys(await versions(setup.secretId))).toEqual([setup.stored.versionId]);
  });

  it('two runs renewing the same version at once leave exactly one AWSCURRENT version, and it works', async () => {
    // Prepare
    const setup = await registered('b');
    // Delivered once before (not due yet), so the racing runs update the Secret rather than both create it.
    expect((await capturedRun(setup.config)).result.ok).toBe(true);
    // Holds each PutSecretValue until both runs have reached theirs (or 20 s): the race made certain.
    let arrived = 0;
    let release: () => void = () => {};
    const bothThere = new Promise<void>((resolve) => {
      release = resolve;
    });
    const barrier = async () => {
      arrived++;
      if (arrived >= 2) release();
      await Promise.race([bothThere, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    };
    const first = countingSecrets(barrier);
    const second = countingSecrets(barrier);
    const clock = new Date(Date.now() + PAST_THRESHOLD_MS);

    // Act
    const runs = await Promise.all(
      [first, second].map(({ aws }) =>
        capturedRun(setup.config, {
          aws,
          kubeconfigs: secretsManagerKubeconfigs(aws.secretsManager(), { ttlSeconds: 0 }),
          now: () => clock,
        }),
      ),
    );

    // Assess
    expect(arrived).toBe(2);
    expect(
      runs.map((r) => r.result.ok),
      JSON.stringify(runs.map((r) => r.result.clusters)),
    ).toEqual([true, true]);
    const credentials = runs.map((r) => r.result.clusters[0]?.credential);
    expect(
      credentials.filter((c) => c?.renewal?.outcome === 'renewed'),
      JSON.stringify(credentials),
    ).toHaveLength(1);
    expect(
      credentials.filter((c) => c?.renewal === undefined),
      JSON.stringify(credentials),
    ).toHaveLength(1);
    expect([...first.errors, ...second.errors]).toEqual(['PutSecretValue: ResourceExistsException']);
    const stages = await versions(setup.secretId);
    expect(Object.values(stages).sort()).toEqual([['AWSCURRENT'], ['AWSPREVIOUS']]);
    const after = await current(setup.secretId);
    const token = tokenOf(after.text);
    expect(await whoIs(setup.rigCluster, token)).toBe(`system:serviceaccount:${setup.control}:cred-courier`);
    // Both report the credential now stored.
    const expiresAt = tokenClaims(token)?.expiresAt?.toISOString();
    expect(credentials.map((c) => c?.expiresAt)).toEqual([expiresAt, expiresAt]);
    expect(runs.flatMap((r) => tokenRequests(r.requests))).toHaveLength(2);
  });

  it("moto follows AWS's documented ClientRequestToken rule: the same token with the same value is ignored, with another value refused", async () => {
    // Prepare
    const setup = await registered('a');
    const token = renewalRequestToken(setup.secretId, setup.stored.versionId);
    const put = (value: string) =>
      sm().send(
        new PutSecretValueCommand({
          SecretId: setup.secretId,
          SecretString: value,
          ClientRequestToken: token,
        }),
      );

    // Act
    await put('first value');
    await put('first value');
    const refused = await put('second value').catch((error: Error) => error);

    // Assess
    expect(Object.keys(await versions(setup.secretId))).toHaveLength(2);
    expect((refused as Error).name).toBe('ResourceExistsException');
    expect((refused as Error).message).toContain(`You can't use ClientRequestToken ${token}`);
    expect((await current(setup.secretId)).text).toBe('first value');
  });
});
