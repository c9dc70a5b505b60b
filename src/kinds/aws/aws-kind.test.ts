/**
 * The aws kind's mint, probe and render, with a hand-written stand-in for STS (named as such): the faults
 * it answers (a probe that fails, an AssumeRole refused) are ones moto cannot produce.
 */
import type { AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import type { AwsClients } from '../../aws/clients.ts';
import { parseConfig } from '../../config/load.ts';
import type { ClusterSpec } from '../../config/types.ts';
import { MintError } from '../../errors.ts';
import type { MintDeps } from '../kind.ts';
import { type AwsRequest, awsKind } from './index.ts';

const ROLE = 'arn:aws:iam::111122223333:role/cred-courier-orders';

function cluster(extra = ''): ClusterSpec {
  const config = parseConfig(
    `clusters:
  - name: gke-prod
    kubeconfigSecret: k
    namespaces: { names: [app, jobs] }
    aws:
      - secretName: orders
        roleArn: ${ROLE}
        region: eu-west-1
        namespaces: [jobs]
        policyArns: [arn:aws:iam::111122223333:policy/orders-read]
        sessionTags: { team: orders }
        externalId: orders-7f3a${extra}
`,
    'clusters.yaml',
  );
  const spec = config.clusters[0];
  if (!spec) throw new Error('no cluster');
  return spec;
}

/** The one request of the cluster's one grant. */
function requestOf(spec: ClusterSpec): AwsRequest {
  const request = awsKind.targets(spec)[0]?.requests[0];
  if (!request) throw new Error('no request');
  return request;
}

interface StandIn {
  readonly deps: MintDeps;
  readonly sent: AssumeRoleCommandInput[];
  readonly registered: string[];
  readonly info: { message: string; attributes: Record<string, unknown> }[];
}

/** Stand-in for STS: AssumeRole answers (or refuses), GetCallerIdentity answers (or fails). */
function standIn(options: { refuse?: boolean; probeFails?: boolean } = {}): StandIn {
  const sent: AssumeRoleCommandInput[] = [];
  const registered: string[] = [];
  const info: StandIn['info'] = [];
  const aws = {
    sts: () => ({
      send: async (command: { input: AssumeRoleCommandInput }) => {
        sent.push(command.input);
        if (options.refuse) {
          const error = new Error(`User is not authorized to perform: sts:TagSession on resource: ${ROLE}`);
          error.name = 'AccessDenied';
          throw error;
        }
        return {
          $metadata: {},
          Credentials: {
            AccessKeyId: 'test-access-key',
            SecretAccessKey: 'test-secret-key',
            SessionToken: 'test-session-token',
            Expiration: new Date('2026-12-01T16:00:00Z'),
          },
          PackedPolicySize: 12,
        };
      },
    }),
    callerIdentity: () => ({
      send: async () => {
        if (options.probeFails) {
          const error = new Error('The security token included in the request is invalid');
          error.name = 'InvalidClientTokenId';
          throw error;
        }
        return {
          $metadata: {},
          Arn: `arn:aws:sts::111122223333:assumed-role/cred-courier-orders/cc-gke-prod-orders`,
        };
      },
    }),
  } as unknown as AwsClients;
  const deps: MintDeps = {
    aws,
    now: () => new Date('2026-12-01T15:00:00Z'),
    warn: () => undefined,
    info: (message, attributes) => info.push({ message, attributes }),
    registerSecrets: (...secrets) => registered.push(...secrets),
  };
  return { deps, sent, registered, info };
}

describe('aws kind', () => {
  it('assumes the role with the policyArns, tags and ExternalId written, probes, and logs the session ARN', async () => {
    // Prepare
    const spec = cluster();
    const [target] = awsKind.targets(spec);
    const { deps, sent, info } = standIn();

    // Act
    const minted = await awsKind.mint(requestOf(spec), deps);

    // Assess
    expect(target?.namespaces).toEqual(['jobs']);
    expect(sent).toEqual([
      {
        RoleArn: ROLE,
        RoleSessionName: 'cc-gke-prod-orders',
        DurationSeconds: 3600,
        PolicyArns: [{ arn: 'arn:aws:iam::111122223333:policy/orders-read' }],
        Tags: [{ Key: 'team', Value: 'orders' }],
        ExternalId: 'orders-7f3a',
      },
    ]);
    expect(minted.secrets).toEqual(['test-access-key', 'test-secret-key', 'test-session-token']);
    expect(info.find((line) => line.message === 'AWS session probed')?.attributes).toEqual({
      cluster: 'gke-prod',
      grant: 'orders',
      sessionArn: 'arn:aws:sts::111122223333:assumed-role/cred-courier-orders/cc-gke-prod-orders',
    });
  });

  it('fails the grant when the probe fails, after registering the secrets, naming the grant', async () => {
    // Prepare
    const { deps, registered } = standIn({ probeFails: true });

    // Act
    const outcome = awsKind.mint(requestOf(cluster()), deps);

    // Assess
    await expect(outcome).rejects.toThrow(MintError);
    await expect(outcome).rejects.toThrow(
      /^cluster gke-prod, AWS grant orders: the new credentials do not work \(sts:GetCallerIdentity: InvalidClientTokenId/,
    );
    expect(registered).toContain('test-secret-key');
  });

  it('fails the grant when STS refuses, naming the grant and the role', async () => {
    // Prepare
    const { deps } = standIn({ refuse: true });

    // Act
    const outcome = awsKind.mint(requestOf(cluster()), deps);

    // Assess
    await expect(outcome).rejects.toThrow(
      `cluster gke-prod, AWS grant orders: unable to assume ${ROLE}: AccessDenied: User is not authorized to perform: sts:TagSession`,
    );
  });

  it('renders the session in every form, with credential_process reading the mount path', async () => {
    // Prepare
    const spec = cluster();
    const [target] = awsKind.targets(spec);
    const { deps } = standIn();
    const minted = await awsKind.mint(requestOf(spec), deps);
    if (!target) throw new Error('no target');

    // Act
    const secret = awsKind.render({
      cluster: spec,
      target,
      namespace: 'jobs',
      credentials: [minted],
      issuedAt: deps.now(),
    });

    // Assess
    const file = (key: string) => Buffer.from(secret.data[key] ?? '', 'base64').toString();
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata.labels['cred-courier.io/kind']).toBe('aws');
    expect(secret.metadata.annotations['cred-courier.io/expires-at']).toBe('2026-12-01T16:00:00.000Z');
    expect(file('config')).toBe(
      '[default]\nregion = eu-west-1\ncredential_process = cat /var/run/secrets/cred-courier/orders/credential-process.json\n',
    );
    expect(JSON.parse(file('credential-process.json'))).toEqual({
      Version: 1,
      AccessKeyId: 'test-access-key',
      SecretAccessKey: 'test-secret-key',
      SessionToken: 'test-session-token',
      Expiration: '2026-12-01T16:00:00.000Z',
    });
    expect(file('credentials')).toContain('aws_session_token = test-session-token');
  });

  it('shares one session between grants equal in scope, and none between grants that differ in tags', () => {
    // Prepare
    const spec = cluster();
    const retagged: ClusterSpec = {
      ...spec,
      aws: (spec.aws ?? []).map((grant) => ({ ...grant, sessionTags: { team: 'billing' } })),
    };

    // Act
    const keys = [spec, cluster(), retagged].map((c) => awsKind.scopeKey(requestOf(c)));

    // Assess
    expect(keys[0]).toBe(keys[1]);
    expect(keys[0]).not.toBe(keys[2]);
  });
});
