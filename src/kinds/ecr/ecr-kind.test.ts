import type { AuthorizationData } from '@aws-sdk/client-ecr';
import type { AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { clusterSpec } from '../../../test/support/cluster-spec.ts';
import type { AwsClients, EcrApi, StsApi } from '../../aws/clients.ts';
import { MintError } from '../../errors.ts';
import type { KindTarget, MintDeps, Minted } from '../kind.ts';
import { ECR_TOKEN_LIFETIME_MS, type EcrCredential, type EcrRequest, ecrKind } from './index.ts';
import { ecrSessionPolicy } from './policy.ts';

const NOW = new Date('2024-05-01T08:00:00.000Z');
const HOUR = 3600_000;
const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/cred-courier-ecr-pull`;
const USERNAME = 'AWS';
const PASSWORD = 'eyJwYXlsb2FkIjoiZmFrZS1lY3ItcGFzc3dvcmQifQ==';
const SESSION = {
  AccessKeyId: 'test-session-key-id',
  SecretAccessKey: 'fake/session/secret/access/key/0000000000',
  SessionToken: 'FwoGZXIvYXdzEFAKESESSIONTOKEN0000000000000000',
  Expiration: new Date(NOW.getTime() + 900_000),
};

const b64 = (text: string) => Buffer.from(text).toString('base64');

function target(requests: EcrRequest[]): KindTarget<EcrRequest> {
  return { kind: 'ecr', secretName: 'ecr-pull', requests, serviceAccounts: ['default'] };
}

function credential(
  overrides: Partial<EcrCredential> = {},
  expiresAt = new Date(NOW.getTime() + 12 * HOUR),
): Minted<EcrCredential> {
  return {
    value: {
      endpointHost: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
      username: 'AWS',
      password: 'pw-1',
      ...overrides,
    },
    expiresAt,
    secrets: [],
  };
}

interface DockerConfig {
  auths: Record<string, { username: string; password: string; auth: string }>;
}

function dockerConfigOf(data: Readonly<Record<string, string>>): DockerConfig {
  const encoded = data['.dockerconfigjson'];
  expect(encoded).toBeTypeOf('string');
  return JSON.parse(Buffer.from(encoded ?? '', 'base64').toString('utf8')) as DockerConfig;
}

/** What the AWS stub was asked. */
interface StubCalls {
  /** Each ECR client built: its region and the credentials it was built with. */
  readonly ecrClients: { region: string; credentials?: AwsCredentialIdentity }[];
  /** The credentials of the ECR client each GetAuthorizationToken was sent through. */
  readonly ecrSends: (AwsCredentialIdentity | undefined)[];
  readonly stsRegions: string[];
  readonly assumeRoleInputs: AssumeRoleCommandInput[];
}

/** A hand-written stub of the narrow AwsClients interface: canned answers, recorded calls. */
function awsClientsStub(answer: { authorizationData?: AuthorizationData[]; ecrError?: Error }): {
  aws: AwsClients;
  calls: StubCalls;
} {
  const calls: StubCalls = { ecrClients: [], ecrSends: [], stsRegions: [], assumeRoleInputs: [] };
  const aws: AwsClients = {
    ecr(region, credentials) {
      calls.ecrClients.push(credentials === undefined ? { region } : { region, credentials });
      const client: EcrApi = {
        async send() {
          calls.ecrSends.push(credentials);
          if (answer.ecrError) throw answer.ecrError;
          return {
            $metadata: {},
            ...(answer.authorizationData ? { authorizationData: answer.authorizationData } : {}),
          };
        },
      };
      return client;
    },
    sts(region) {
      calls.stsRegions.push(region);
      const client: StsApi = {
        async send(command) {
          calls.assumeRoleInputs.push(command.input);
          return { $metadata: {}, Credentials: SESSION };
        },
      };
      return client;
    },
    s3() {
      throw new Error('the ECR kind has no use for S3');
    },
    callerIdentity() {
      throw new Error('the ECR kind never probes with GetCallerIdentity');
    },
    secretsManager() {
      throw new Error('the ECR kind has no use for Secrets Manager');
    },
  };
  return { aws, calls };
}

function tokenData(overrides: Partial<AuthorizationData> = {}): AuthorizationData {
  return {
    authorizationToken: b64(`${USERNAME}:${PASSWORD}`),
    expiresAt: new Date(NOW.getTime() + 12 * HOUR),
    proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
    ...overrides,
  };
}

function deps(aws: AwsClients): { deps: MintDeps; warnings: { message: string; attributes: unknown }[] } {
  const warnings: { message: string; attributes: unknown }[] = [];
  return {
    deps: {
      aws,
      now: () => NOW,
      warn: (message, attributes) => warnings.push({ message, attributes }),
      info: () => {},
      registerSecrets: () => {},
    },
    warnings,
  };
}

describe('Module: ecr kind', () => {
  describe('Function: render', () => {
    it('writes a kubernetes.io/dockerconfigjson Secret named after the target, in the namespace', () => {
      // Prepare
      const input = {
        cluster: clusterSpec(),
        target: target([{ region: 'eu-west-1', accountId: ACCOUNT }]),
        namespace: 'app',
        credentials: [credential()],
        issuedAt: NOW,
      };

      // Act
      const secret = ecrKind.render(input);

      // Assess
      expect(secret.apiVersion).toBe('v1');
      expect(secret.kind).toBe('Secret');
      expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
      expect(secret.metadata.name).toBe('ecr-pull');
      expect(secret.metadata.namespace).toBe('app');
      expect(Object.keys(secret.data)).toEqual(['.dockerconfigjson']);
    });

    it('encodes auths with username, password and auth = base64(username:password)', () => {
      // Prepare
      const input = {
        cluster: clusterSpec(),
        target: target([{ region: 'eu-west-1', accountId: ACCOUNT }]),
        namespace: 'app',
        credentials: [credential({ username: 'AWS', password: 'secret-pass:with:colons' })],
        issuedAt: NOW,
      };

      // Act
      const secret = ecrKind.render(input);

      // Assess
      const config = dockerConfigOf(secret.data);
      const host = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
      expect(Object.keys(config)).toEqual(['auths']);
      expect(Object.keys(config.auths)).toEqual([host]);
      const entry = config.auths[host];
      expect(entry?.username).toBe('AWS');
      expect(entry?.password).toBe('secret-pass:with:colons');
      expect(Buffer.from(entry?.auth ?? '', 'base64').toString('utf8')).toBe('AWS:secret-pass:with:colons');
    });

    it("takes the host from the registry's account, not from the credential's endpoint", () => {
      // Prepare
      const input = {
        cluster: clusterSpec(),
        target: target([{ region: 'eu-west-1', accountId: OTHER_ACCOUNT }]),
        namespace: 'app',
        credentials: [credential({ endpointHost: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com` })],
        issuedAt: NOW,
      };

      // Act
      const secret = ecrKind.render(input);

      // Assess
      expect(Object.keys(dockerConfigOf(secret.data).auths)).toEqual([
        `${OTHER_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
      ]);
    });

    it("takes the host from the credential's endpoint when the registry has no accountId", () => {
      // Prepare
      const endpointHost = '999988887777.dkr.ecr.us-east-1.amazonaws.com';
      const input = {
        cluster: clusterSpec(),
        target: target([{ region: 'us-east-1' }]),
        namespace: 'app',
        credentials: [credential({ endpointHost })],
        issuedAt: NOW,
      };

      // Act
      const secret = ecrKind.render(input);

      // Assess
      expect(Object.keys(dockerConfigOf(secret.data).auths)).toEqual([endpointHost]);
    });

    it('uses the amazonaws.com.cn host for a China region', () => {
      // Prepare
      const input = {
        cluster: clusterSpec(),
        target: target([{ region: 'cn-north-1', accountId: ACCOUNT }]),
        namespace: 'app',
        credentials: [credential()],
        issuedAt: NOW,
      };

      // Act
      const secret = ecrKind.render(input);

      // Assess
      expect(Object.keys(dockerConfigOf(secret.data).auths)).toEqual([
        `${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn`,
      ]);
    });

    it('writes an entry for each of two registries that share one credential', () => {
      // Prepare
      const shared = credential({ password: 'shared-token' });
      const input = {
        cluster: clusterSpec(),
        target: target([
          { region: 'eu-west-1', accountId: ACCOUNT },
          { region: 'eu-west-1', accountId: OTHER_ACCOUNT },
        ]),
        namespace: 'app',
        credentials: [shared, shared],
        issuedAt: NOW,
      };

      // Act
      const secret = ecrKind.render(input);

      // Assess
      const auths = dockerConfigOf(secret.data).auths;
      expect(Object.keys(auths).sort()).toEqual([
        `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
        `${OTHER_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
      ]);
      for (const entry of Object.values(auths)) expect(entry.password).toBe('shared-token');
    });

    it('pairs each registry with the credential at the same position', () => {
      // Prepare
      const input = {
        cluster: clusterSpec(),
        target: target([
          { region: 'eu-west-1', accountId: ACCOUNT },
          { region: 'us-east-1', accountId: ACCOUNT },
        ]),
        namespace: 'app',
        credentials: [credential({ password: 'eu-token' }), credential({ password: 'us-token' })],
        issuedAt: NOW,
      };

      // Act
      const secret = ecrKind.render(input);

      // Assess
      const auths = dockerConfigOf(secret.data).auths;
      expect(auths[`${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`]?.password).toBe('eu-token');
      expect(auths[`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`]?.password).toBe('us-token');
    });

    it('labels the Secret as managed by cred-courier, for the cluster, of kind ecr', () => {
      // Prepare
      const input = {
        cluster: clusterSpec({ name: 'aks-staging' }),
        target: target([{ region: 'eu-west-1', accountId: ACCOUNT }]),
        namespace: 'app',
        credentials: [credential()],
        issuedAt: NOW,
      };

      // Act
      const secret = ecrKind.render(input);

      // Assess
      expect(secret.metadata.labels).toEqual({
        'app.kubernetes.io/managed-by': 'cred-courier',
        'cred-courier.io/cluster': 'aks-staging',
        'cred-courier.io/kind': 'ecr',
      });
    });

    it('annotates issued-at, the earliest expiry and the sorted registry hosts', () => {
      // Prepare
      const issuedAt = new Date('2024-05-01T08:00:00.123Z');
      const earliest = new Date('2024-05-01T19:30:00.000Z');
      const input = {
        cluster: clusterSpec(),
        target: target([
          { region: 'us-east-1', accountId: OTHER_ACCOUNT },
          { region: 'eu-west-1', accountId: ACCOUNT },
          { region: 'ap-south-1', accountId: ACCOUNT },
        ]),
        namespace: 'app',
        credentials: [
          credential({}, new Date('2024-05-01T20:00:00.000Z')),
          credential({}, earliest),
          credential({}, new Date('2024-05-01T21:00:00.000Z')),
        ],
        issuedAt,
      };

      // Act
      const secret = ecrKind.render(input);

      // Assess
      expect(secret.metadata.annotations).toEqual({
        'cred-courier.io/issued-at': '2024-05-01T08:00:00.123Z',
        'cred-courier.io/expires-at': '2024-05-01T19:30:00.000Z',
        'cred-courier.io/registries': [
          `${ACCOUNT}.dkr.ecr.ap-south-1.amazonaws.com`,
          `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
          `${OTHER_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
        ].join(','),
      });
    });
  });

  describe('Function: targets', () => {
    it('has no targets for a cluster without ecr', () => {
      // Prepare
      const cluster = clusterSpec();

      // Act
      const targets = ecrKind.targets(cluster);

      // Assess
      expect(targets).toEqual([]);
    });

    it('has one target whose requests mirror the registries, with repositories passed through', () => {
      // Prepare
      const cluster = clusterSpec({
        ecr: {
          secretName: 'ecr-pull',
          registries: [
            { region: 'eu-west-1', accountId: ACCOUNT, roleArn: ROLE },
            { region: 'us-east-1', accountId: OTHER_ACCOUNT, roleArn: ROLE },
          ],
          repositories: ['app/api', 'team-a/*'],
          serviceAccounts: ['default', 'builder'],
        },
      });

      // Act
      const targets = ecrKind.targets(cluster);

      // Assess
      expect(targets).toEqual([
        {
          kind: 'ecr',
          secretName: 'ecr-pull',
          serviceAccounts: ['default', 'builder'],
          requests: [
            { region: 'eu-west-1', accountId: ACCOUNT, roleArn: ROLE, repositories: ['app/api', 'team-a/*'] },
            {
              region: 'us-east-1',
              accountId: OTHER_ACCOUNT,
              roleArn: ROLE,
              repositories: ['app/api', 'team-a/*'],
            },
          ],
        },
      ]);
    });

    it('leaves accountId, roleArn and repositories out of a request when the config leaves them out', () => {
      // Prepare
      const cluster = clusterSpec({
        ecr: { secretName: 'ecr-pull', registries: [{ region: 'eu-west-1' }], serviceAccounts: [] },
      });

      // Act
      const targets = ecrKind.targets(cluster);

      // Assess
      expect(targets[0]?.requests).toEqual([{ region: 'eu-west-1' }]);
      expect(Object.keys(targets[0]?.requests[0] ?? {})).toEqual(['region']);
    });
  });

  describe('Function: scopeKey', () => {
    const key = (request: EcrRequest) => ecrKind.scopeKey(request);

    it('is equal for the same region reached by the default identity, whatever the account', () => {
      // Prepare
      const a: EcrRequest = { region: 'eu-west-1', accountId: ACCOUNT };
      const b: EcrRequest = { region: 'eu-west-1', accountId: OTHER_ACCOUNT };
      const c: EcrRequest = { region: 'eu-west-1' };

      // Act
      const keys = [key(a), key(b), key(c)];

      // Assess
      expect(new Set(keys).size).toBe(1);
    });

    it('differs between regions', () => {
      // Prepare
      const a: EcrRequest = { region: 'eu-west-1' };
      const b: EcrRequest = { region: 'us-east-1' };

      // Act
      const [ka, kb] = [key(a), key(b)];

      // Assess
      expect(ka).not.toBe(kb);
    });

    it('differs between a role and the default identity in the same region', () => {
      // Prepare
      const a: EcrRequest = { region: 'eu-west-1', accountId: ACCOUNT };
      const b: EcrRequest = { region: 'eu-west-1', accountId: ACCOUNT, roleArn: ROLE };

      // Act
      const [ka, kb] = [key(a), key(b)];

      // Assess
      expect(ka).not.toBe(kb);
    });

    it('differs between two roles', () => {
      // Prepare
      const a: EcrRequest = { region: 'eu-west-1', roleArn: ROLE };
      const b: EcrRequest = { region: 'eu-west-1', roleArn: `${ROLE}-2` };

      // Act
      const [ka, kb] = [key(a), key(b)];

      // Assess
      expect(ka).not.toBe(kb);
    });

    it('differs under one role when the accounts differ (the session policy differs)', () => {
      // Prepare
      const a: EcrRequest = { region: 'eu-west-1', accountId: ACCOUNT, roleArn: ROLE };
      const b: EcrRequest = { region: 'eu-west-1', accountId: OTHER_ACCOUNT, roleArn: ROLE };

      // Act
      const [ka, kb] = [key(a), key(b)];

      // Assess
      expect(ka).not.toBe(kb);
    });

    it('differs under one role when the repositories differ', () => {
      // Prepare
      const a: EcrRequest = {
        region: 'eu-west-1',
        accountId: ACCOUNT,
        roleArn: ROLE,
        repositories: ['app/api'],
      };
      const b: EcrRequest = {
        region: 'eu-west-1',
        accountId: ACCOUNT,
        roleArn: ROLE,
        repositories: ['app/web'],
      };

      // Act
      const [ka, kb] = [key(a), key(b)];

      // Assess
      expect(ka).not.toBe(kb);
    });

    it('is equal under one role for the same repositories in another order', () => {
      // Prepare
      const a: EcrRequest = {
        region: 'eu-west-1',
        accountId: ACCOUNT,
        roleArn: ROLE,
        repositories: ['app/api', 'team-a/*'],
      };
      const b: EcrRequest = { ...a, repositories: ['team-a/*', 'app/api'] };

      // Act
      const [ka, kb] = [key(a), key(b)];

      // Assess
      expect(ka).toBe(kb);
    });
  });

  describe('Function: mint', () => {
    it('returns the decoded username and password, the endpoint host and a plausible expiry unchanged', async () => {
      // Prepare
      const expiresAt = new Date(NOW.getTime() + 11 * HOUR);
      const { aws } = awsClientsStub({ authorizationData: [tokenData({ expiresAt })] });
      const { deps: mintDeps, warnings } = deps(aws);

      // Act
      const minted = await ecrKind.mint({ region: 'eu-west-1' }, mintDeps);

      // Assess
      expect(minted.value).toEqual({
        endpointHost: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
        username: USERNAME,
        password: PASSWORD,
      });
      expect(minted.expiresAt.toISOString()).toBe(expiresAt.toISOString());
      expect(warnings).toEqual([]);
    });

    it.each([
      { what: "in the past (moto's 2015 value)", expiresAt: new Date('2015-01-01T00:00:00Z') },
      { what: 'exactly now', expiresAt: NOW },
      { what: 'absurdly far away (+10 days)', expiresAt: new Date(NOW.getTime() + 240 * HOUR) },
      { what: 'not a date', expiresAt: new Date(Number.NaN) },
      { what: 'missing', expiresAt: undefined },
    ])('warns and assumes now + 12 h when expiresAt is $what', async ({ expiresAt }) => {
      // Prepare
      const data = tokenData();
      if (expiresAt === undefined) delete data.expiresAt;
      else data.expiresAt = expiresAt;
      const { aws } = awsClientsStub({ authorizationData: [data] });
      const { deps: mintDeps, warnings } = deps(aws);

      // Act
      const minted = await ecrKind.mint({ region: 'eu-west-1' }, mintDeps);

      // Assess
      expect(minted.expiresAt.getTime()).toBe(NOW.getTime() + ECR_TOKEN_LIFETIME_MS);
      expect(ECR_TOKEN_LIFETIME_MS).toBe(12 * HOUR);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.message).toMatch(/expiresAt/);
      expect(JSON.stringify(warnings)).not.toContain(PASSWORD);
    });

    it('keeps an expiresAt of exactly now + 13 h, and corrects one a millisecond later', async () => {
      // Prepare
      const edge = new Date(NOW.getTime() + 13 * HOUR);
      const beyond = new Date(NOW.getTime() + 13 * HOUR + 1);
      const atEdge = deps(awsClientsStub({ authorizationData: [tokenData({ expiresAt: edge })] }).aws);
      const pastEdge = deps(awsClientsStub({ authorizationData: [tokenData({ expiresAt: beyond })] }).aws);

      // Act
      const kept = await ecrKind.mint({ region: 'eu-west-1' }, atEdge.deps);
      const corrected = await ecrKind.mint({ region: 'eu-west-1' }, pastEdge.deps);

      // Assess
      expect(kept.expiresAt.getTime()).toBe(edge.getTime());
      expect(atEdge.warnings).toEqual([]);
      expect(corrected.expiresAt.getTime()).toBe(NOW.getTime() + 12 * HOUR);
      expect(pastEdge.warnings).toHaveLength(1);
    });

    it('registers the role session with the redactor before GetAuthorizationToken, and the token as soon as it arrives', async () => {
      // Prepare: ECR fails the first time, so what was registered by then is what an error could quote.
      const failing = awsClientsStub({ ecrError: new Error('ECR is down') });
      const registeredBeforeFailure: string[] = [];
      const failingDeps = {
        ...deps(failing.aws).deps,
        registerSecrets: (...s: readonly string[]) => void registeredBeforeFailure.push(...s),
      };
      const working = awsClientsStub({ authorizationData: [tokenData()] });
      const registered: string[] = [];
      const workingDeps = {
        ...deps(working.aws).deps,
        registerSecrets: (...s: readonly string[]) => void registered.push(...s),
      };
      const request = {
        region: 'eu-west-1',
        accountId: ACCOUNT,
        roleArn: `arn:aws:iam::${ACCOUNT}:role/pull`,
      };

      // Act
      const failed = ecrKind.mint(request, failingDeps);
      await ecrKind.mint(request, workingDeps);

      // Assess
      await expect(failed).rejects.toThrow(MintError);
      expect(registeredBeforeFailure).toEqual([SESSION.SecretAccessKey, SESSION.SessionToken]);
      expect(registered).toEqual(
        expect.arrayContaining([SESSION.SecretAccessKey, SESSION.SessionToken, PASSWORD]),
      );
    });

    it('throws a MintError when ECR gives no endpoint and the registry has no accountId', async () => {
      // Prepare
      const data = tokenData();
      delete data.proxyEndpoint;
      const { aws } = awsClientsStub({ authorizationData: [data] });
      const { deps: mintDeps } = deps(aws);

      // Act
      const act = ecrKind.mint({ region: 'eu-west-1' }, mintDeps);

      // Assess
      await expect(act).rejects.toThrow(MintError);
      await expect(act).rejects.toThrow(/accountId/);
    });

    it.each([
      { what: 'not base64 of user:password', token: b64('no-separator-here') },
      { what: 'empty before the colon', token: b64(':password-only') },
      { what: 'empty', token: '' },
    ])('throws a MintError when the token is $what', async ({ token }) => {
      // Prepare
      const { aws } = awsClientsStub({ authorizationData: [tokenData({ authorizationToken: token })] });
      const { deps: mintDeps } = deps(aws);

      // Act
      const act = ecrKind.mint({ region: 'eu-west-1' }, mintDeps);

      // Assess
      await expect(act).rejects.toThrow(MintError);
      await expect(act).rejects.toThrow(/eu-west-1/);
    });

    it('throws a MintError when ECR answers with no authorization data', async () => {
      // Prepare
      const { aws } = awsClientsStub({});
      const { deps: mintDeps } = deps(aws);

      // Act
      const act = ecrKind.mint({ region: 'eu-west-1' }, mintDeps);

      // Assess
      await expect(act).rejects.toThrow(MintError);
    });

    it('wraps an ECR failure in a MintError naming the scope and keeping the cause', async () => {
      // Prepare
      const failure = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
      const { aws } = awsClientsStub({ ecrError: failure });
      const { deps: mintDeps } = deps(aws);

      // Act
      const error = await ecrKind
        .mint({ region: 'eu-west-1', roleArn: ROLE }, mintDeps)
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(MintError);
      expect((error as MintError).message).toContain('eu-west-1');
      expect((error as MintError).message).toContain(ROLE);
      expect((error as MintError).message).toContain('AccessDeniedException: User is not authorized');
      expect((error as MintError).cause).toBe(failure);
    });

    it('refuses, before calling STS, a session policy over the 2,048-character limit, naming the scope', async () => {
      // Prepare
      const { aws, calls } = awsClientsStub({ authorizationData: [tokenData()] });
      const { deps: mintDeps } = deps(aws);
      const repositories = Array.from(
        { length: 20 },
        (_, i) => `team-${String(i).padStart(2, '0')}/${'x'.repeat(32)}`,
      );

      // Act
      const error = await ecrKind
        .mint({ region: 'ap-southeast-2', accountId: ACCOUNT, roleArn: ROLE, repositories }, mintDeps)
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(MintError);
      expect((error as MintError).message).toMatch(/ap-southeast-2 as .*over STS's 2048/);
      expect(calls.assumeRoleInputs).toHaveLength(0);
    });

    it('falls back to the registry host of the accountId when ECR gives no proxyEndpoint', async () => {
      // Prepare
      const data = tokenData();
      delete data.proxyEndpoint;
      const { aws } = awsClientsStub({ authorizationData: [data] });
      const { deps: mintDeps } = deps(aws);

      // Act
      const minted = await ecrKind.mint({ region: 'cn-north-1', accountId: OTHER_ACCOUNT }, mintDeps);

      // Assess
      expect(minted.value.endpointHost).toBe(`${OTHER_ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn`);
    });

    it('mints with the default identity, and without AssumeRole, when there is no roleArn', async () => {
      // Prepare
      const { aws, calls } = awsClientsStub({ authorizationData: [tokenData()] });
      const { deps: mintDeps } = deps(aws);

      // Act
      await ecrKind.mint({ region: 'eu-west-1', accountId: ACCOUNT }, mintDeps);

      // Assess
      expect(calls.assumeRoleInputs).toEqual([]);
      expect(calls.ecrSends).toEqual([undefined]);
      expect(calls.ecrClients.map((c) => c.region)).toEqual(['eu-west-1']);
    });

    it('assumes the role for 900 s with the session policy and asks ECR with the session credentials', async () => {
      // Prepare
      const request: EcrRequest = {
        region: 'eu-west-1',
        accountId: ACCOUNT,
        roleArn: ROLE,
        repositories: ['team-a/*', 'app/api'],
      };
      const { aws, calls } = awsClientsStub({ authorizationData: [tokenData()] });
      const { deps: mintDeps } = deps(aws);

      // Act
      await ecrKind.mint(request, mintDeps);

      // Assess
      expect(calls.stsRegions).toEqual(['eu-west-1']);
      expect(calls.assumeRoleInputs).toHaveLength(1);
      const input = calls.assumeRoleInputs[0];
      expect(input?.RoleArn).toBe(ROLE);
      expect(input?.DurationSeconds).toBe(900);
      expect(input?.Policy).toBe(ecrSessionPolicy({ ...request, roleArn: ROLE }));
      expect(input?.Policy).toContain(`arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/team-a/*`);
      expect(input?.RoleSessionName).toMatch(/^[\w+=,.@-]{2,64}$/);
      expect(calls.ecrSends).toHaveLength(1);
      expect(calls.ecrSends[0]).toMatchObject({
        accessKeyId: SESSION.AccessKeyId,
        secretAccessKey: SESSION.SecretAccessKey,
        sessionToken: SESSION.SessionToken,
      });
    });

    it('sends a pull-only session policy on the role’s own account when the registry has no accountId', async () => {
      // Prepare
      const tenantRole = `arn:aws:iam::${OTHER_ACCOUNT}:role/tenant-b-pull`;
      const { aws, calls } = awsClientsStub({ authorizationData: [tokenData()] });
      const { deps: mintDeps } = deps(aws);

      // Act
      await ecrKind.mint({ region: 'eu-west-1', roleArn: tenantRole }, mintDeps);

      // Assess
      const policy = JSON.parse(calls.assumeRoleInputs[0]?.Policy ?? 'null') as {
        Statement: { Action: string | string[]; Resource: string | string[] }[];
      } | null;
      expect(policy, 'AssumeRole was sent without a session policy').not.toBeNull();
      expect(policy?.Statement.map((s) => [s.Action, s.Resource])).toEqual([
        ['ecr:GetAuthorizationToken', '*'],
        [
          ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          [`arn:aws:ecr:eu-west-1:${OTHER_ACCOUNT}:repository/*`],
        ],
      ]);
    });

    it('lists the password, the raw token and the session secret key and token as secrets', async () => {
      // Prepare
      const data = tokenData();
      const { aws } = awsClientsStub({ authorizationData: [data] });
      const { deps: mintDeps } = deps(aws);

      // Act
      const minted = await ecrKind.mint({ region: 'eu-west-1', accountId: ACCOUNT, roleArn: ROLE }, mintDeps);

      // Assess
      expect(minted.secrets).toEqual(
        expect.arrayContaining([
          PASSWORD,
          data.authorizationToken,
          SESSION.SecretAccessKey,
          SESSION.SessionToken,
        ]),
      );
    });

    it('does not name the token in the error when the token cannot be decoded', async () => {
      // Prepare
      const token = b64('no-separator-in-this-long-token-value');
      const { aws } = awsClientsStub({ authorizationData: [tokenData({ authorizationToken: token })] });
      const { deps: mintDeps } = deps(aws);

      // Act
      const error = await ecrKind.mint({ region: 'eu-west-1' }, mintDeps).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(MintError);
      expect((error as Error).message).not.toContain(token);
      expect((error as Error).message).not.toContain('no-separator-in-this-long-token-value');
    });
  });
});
