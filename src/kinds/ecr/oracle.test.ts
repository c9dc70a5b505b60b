/**
 * ECR tenant isolation under an independent oracle, @cloud-copilot/iam-simulate: per token the run would
 * mint for a multi-tenant registration file, what that token's identity may do.
 *
 * - A token minted under a role carries the session policy the mint sends to STS (captured from the
 *   AssumeRole request; AWS itself is not called: a recording stand-in answers). It is evaluated with a
 *   role policy that allows `ecr:*` on `*`, so the session policy alone must deny.
 * - A token minted as the function itself (a registry without roleArn) can do what the function role's
 *   statements allow (scripts/serverless-config.ts), resolved for one deployment.
 *
 * An ECR token authenticates to the registries of the region it was minted in only, so a token minted as
 * the function is checked against that region's repositories: the function role's pull rights in other
 * regions serve the tokens of those regions (one role, one statement for all of them).
 *
 * Repositories of other accounts carry a repository policy delegating everything to the principal's
 * account (the most a registry owner can grant): the identity side must still decide. The claim: every
 * pull from an account, region or repository that no receiving cluster lists is denied, and no push or
 * change is allowed anywhere.
 */

import type { AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { functionRoleStatements } from '../../../scripts/serverless-config.ts';
import { recordingSts } from '../../../test/support/recording-sts.ts';
import type { AwsClients } from '../../aws/clients.ts';
import { parseConfig } from '../../config/load.ts';
import { type EcrRequest, ecrKind } from './index.ts';
import { ECR_PULL_ACTIONS, repositoryArn } from './policy.ts';

const TENANT_A = '111122223333';
const TENANT_B = '444455556666';
const TENANT_C = '777788889999';
const FUNCTION_ACCOUNT = '999988887777';
const UNLISTED = '123412341234';
const ACCOUNTS = [TENANT_A, TENANT_B, TENANT_C, FUNCTION_ACCOUNT, UNLISTED];
const REGIONS = ['eu-west-1', 'eu-central-1', 'us-east-1'];
const REPOSITORIES = ['team-a/app', 'shared/base', 'team-b/app'];
const FUNCTION_ROLE = `arn:aws:sts::${FUNCTION_ACCOUNT}:assumed-role/cred-courier-prod-eu-west-1-lambdaRole/distribute`;

const PUSH_AND_CHANGE_ACTIONS = [
  'ecr:PutImage',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:BatchDeleteImage',
  'ecr:DeleteRepository',
  'ecr:SetRepositoryPolicy',
  'ecr:DeleteRepositoryPolicy',
  'ecr:PutLifecyclePolicy',
  'ecr:PutImageTagMutability',
  'ecr:TagResource',
  'ecr:ReplicateImage',
];

/**
 * Tenants a and b pull under roles (b's role names no accountId: its account comes from the ARN); c and d
 * share one token minted as the function in eu-central-1 (same account listed); e pulls from the
 * function's own account in us-east-1.
 */
const CONFIG = `clusters:
  - name: tenant-a
    kubeconfigSecret: k/a
    namespaces: { names: [app] }
    ecr:
      secretName: ecr-pull
      registries: [{ accountId: "${TENANT_A}", region: eu-west-1, roleArn: "arn:aws:iam::${TENANT_A}:role/tenant-a-pull" }]
      repositories: ["team-a/*", shared/base]
  - name: tenant-b
    kubeconfigSecret: k/b
    namespaces: { names: [app] }
    ecr:
      secretName: ecr-pull
      registries: [{ region: eu-west-1, roleArn: "arn:aws:iam::${TENANT_B}:role/tenant-b-pull" }]
  - name: tenant-c
    kubeconfigSecret: k/c
    namespaces: { names: [app] }
    ecr: { secretName: ecr-pull, registries: [{ accountId: "${TENANT_C}", region: eu-central-1 }] }
  - name: tenant-d
    kubeconfigSecret: k/d
    namespaces: { names: [app] }
    ecr: { secretName: ecr-pull, registries: [{ accountId: "${TENANT_C}", region: eu-central-1 }] }
  - name: tenant-e
    kubeconfigSecret: k/e
    namespaces: { names: [app] }
    ecr: { secretName: ecr-pull, registries: [{ region: us-east-1 }] }
`;

const config = parseConfig(CONFIG, 'tenants.yaml');

/** What a receiving cluster's entry lists for the registry a token serves. */
interface Listing {
  readonly cluster: string;
  readonly account: string;
  readonly region: string;
  readonly repositories?: readonly string[];
}

interface Scope {
  readonly key: string;
  readonly request: EcrRequest;
  readonly listings: Listing[];
}

const accountOfRole = (roleArn: string) => roleArn.split(':')[4] ?? '';

/** Every distinct token the run would mint, with the clusters that receive it. */
function scopes(): Scope[] {
  const byKey = new Map<string, Scope>();
  for (const cluster of config.clusters) {
    for (const target of ecrKind.targets(cluster)) {
      for (const request of target.requests) {
        const key = ecrKind.scopeKey(request);
        const scope = byKey.get(key) ?? { key, request, listings: [] };
        scope.listings.push({
          cluster: cluster.name,
          account: request.accountId ?? (request.roleArn ? accountOfRole(request.roleArn) : FUNCTION_ACCOUNT),
          region: request.region,
          ...(request.repositories ? { repositories: request.repositories } : {}),
        });
        byKey.set(key, scope);
      }
    }
  }
  return [...byKey.values()];
}

/** The AssumeRole request the mint sends, through a recording stand-in for STS and ECR. */
async function mintedSessionPolicy(request: EcrRequest): Promise<{ assumed: AssumeRoleCommandInput[] }> {
  const assumed: AssumeRoleCommandInput[] = [];
  const aws: AwsClients = {
    ecr: () => ({
      send: async () => ({
        $metadata: {},
        authorizationData: [
          {
            authorizationToken: Buffer.from(`AWS:${crypto.randomUUID()}`).toString('base64'),
            expiresAt: new Date(Date.now() + 3600_000),
            proxyEndpoint: 'https://registry.example',
          },
        ],
      }),
    }),
    callerIdentity: () => {
      throw new Error('ECR never probes with GetCallerIdentity');
    },
    sts: recordingSts(assumed, 900_000),
    s3: () => {
      throw new Error('not used by the ECR kind');
    },
    secretsManager: () => {
      throw new Error('not used by the ECR kind');
    },
  };
  await ecrKind.mint(request, {
    aws,
    now: () => new Date(),
    warn: () => {},
    info: () => {},
    registerSecrets: () => {},
  });
  return { assumed };
}

/** The function role's policy document, its intrinsics resolved for a deployment in FUNCTION_ACCOUNT. */
function functionRolePolicy() {
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value !== 'object' || value === null) return value;
    if ('Fn::Sub' in value) {
      return String(value['Fn::Sub'])
        .replace(/\$\{AWS::Partition\}/g, 'aws')
        .replace(/\$\{AWS::Region\}/g, 'eu-west-1')
        .replace(/\$\{AWS::AccountId\}/g, FUNCTION_ACCOUNT);
    }
    if ('Fn::GetAtt' in value) {
      const [logicalId] = value['Fn::GetAtt'] as [string, string];
      return logicalId === 'AlarmTopicKey'
        ? `arn:aws:kms:eu-west-1:${FUNCTION_ACCOUNT}:key/alarm-topic-key`
        : `arn:aws:dynamodb:eu-west-1:${FUNCTION_ACCOUNT}:table/ledger`;
    }
    if ('Ref' in value && value.Ref === 'AlarmTopic')
      return `arn:aws:sns:eu-west-1:${FUNCTION_ACCOUNT}:alarms`;
    if (!('Ref' in value) && !Object.keys(value).some((key) => key.startsWith('Fn::')))
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, resolve(inner)]));
    throw new Error(`unresolved ${JSON.stringify(value)}`);
  };
  const statements = functionRoleStatements(config).map((s) => ({
    ...s,
    Resource: resolve(s.Resource),
    ...('Condition' in s ? { Condition: resolve(s.Condition) } : {}),
  }));
  return { Version: '2012-10-17', Statement: statements };
}

const BROAD_ECR_ROLE = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }],
};

interface Identity {
  readonly principal: string;
  readonly account: string;
  readonly identityPolicy: unknown;
  readonly sessionPolicy?: unknown;
}

async function identityOf(scope: Scope): Promise<Identity> {
  const { roleArn } = scope.request;
  if (roleArn === undefined) {
    return { principal: FUNCTION_ROLE, account: FUNCTION_ACCOUNT, identityPolicy: functionRolePolicy() };
  }
  const { assumed } = await mintedSessionPolicy(scope.request);
  expect(assumed).toHaveLength(1);
  const policy = assumed[0]?.Policy;
  const account = accountOfRole(roleArn);
  const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
  return {
    principal: `arn:aws:sts::${account}:assumed-role/${roleName}/${assumed[0]?.RoleSessionName}`,
    account,
    identityPolicy: BROAD_ECR_ROLE,
    // No session policy sent: the session can do whatever the role can.
    ...(policy === undefined ? {} : { sessionPolicy: JSON.parse(policy) }),
  };
}

async function decide(identity: Identity, action: string, resource: string, resourceAccount: string) {
  const crossAccount = resourceAccount !== identity.account;
  const simulation: Simulation = {
    request: {
      principal: identity.principal,
      action,
      resource: { resource, accountId: resourceAccount },
      contextVariables: {},
    },
    identityPolicies: [{ name: 'identity', policy: identity.identityPolicy as never }],
    ...(identity.sessionPolicy === undefined ? {} : { sessionPolicy: identity.sessionPolicy as never }),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    // Another account's repository trusts the principal's account with everything: only the identity
    // side (role and session policy) can deny.
    ...(crossAccount
      ? {
          resourcePolicy: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${identity.account}:root` },
                Action: 'ecr:*',
                Resource: '*',
              },
            ],
          } as never,
        }
      : {}),
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType !== 'single') throw new Error(`iam-simulate: ${JSON.stringify(response)}`);
  expect(response.result.ignoredContextKeys ?? []).toEqual([]);
  return response.overallResult;
}

const matches = (repository: string, pattern: string) =>
  pattern.endsWith('*') ? repository.startsWith(pattern.slice(0, -1)) : repository === pattern;

function listedBy(listings: readonly Listing[], account: string, region: string, repository: string) {
  return listings.some(
    (l) =>
      l.account === account &&
      l.region === region &&
      (l.repositories === undefined || l.repositories.some((p) => matches(repository, p))),
  );
}

const SCOPES = scopes();
const scopeName = (scope: Scope) =>
  `${scope.request.roleArn ? `role ${scope.request.roleArn}` : 'the function itself'} in ${scope.request.region} for ${scope.listings.map((l) => l.cluster).join(', ')}`;

describe('Oracle: ECR tokens per minted scope under @cloud-copilot/iam-simulate', () => {
  it('mints four tokens for five clusters: one per role, one shared by the two clusters listing the same account', () => {
    // Prepare
    const receivers = SCOPES.map((scope) => scope.listings.map((l) => l.cluster));

    // Act
    const shared = receivers.filter((clusters) => clusters.length > 1);

    // Assess
    expect(receivers).toHaveLength(4);
    expect(shared).toEqual([['tenant-c', 'tenant-d']]);
  });

  describe.each(SCOPES.map((scope) => ({ scope, name: scopeName(scope) })))('token of $name', ({ scope }) => {
    it('pulls from exactly what its receiving clusters list: every other account, region and repository is denied', async () => {
      // Prepare
      const identity = await identityOf(scope);
      const regions = scope.request.roleArn ? REGIONS : [scope.request.region];
      const cases = ACCOUNTS.flatMap((account) =>
        regions.flatMap((region) => REPOSITORIES.map((repository) => ({ account, region, repository }))),
      );

      // Act
      const wrong: string[] = [];
      let allowed = 0;
      for (const c of cases) {
        const expected = listedBy(scope.listings, c.account, c.region, c.repository) ? 'Allowed' : 'denied';
        for (const action of ECR_PULL_ACTIONS) {
          const result = await decide(
            identity,
            action,
            repositoryArn(c.region, c.account, c.repository),
            c.account,
          );
          const actual = result === 'Allowed' ? 'Allowed' : 'denied';
          if (actual === 'Allowed') allowed++;
          if (actual !== expected)
            wrong.push(`${action} ${c.account} ${c.region} ${c.repository}: ${result}`);
        }
      }

      // Assess
      expect(wrong).toEqual([]);
      expect(allowed).toBeGreaterThan(0);
      expect(allowed).toBeLessThan(cases.length * ECR_PULL_ACTIONS.length);
    });

    it('can get the authorization token itself', async () => {
      // Prepare
      const identity = await identityOf(scope);

      // Act
      const result = await decide(identity, 'ecr:GetAuthorizationToken', '*', identity.account);

      // Assess
      expect(result).toBe('Allowed');
    });

    it('cannot push, delete or change anything, even in the repositories it may pull from', async () => {
      // Prepare
      const identity = await identityOf(scope);
      const listed = scope.listings.flatMap((l) =>
        REPOSITORIES.filter((r) => listedBy([l], l.account, l.region, r)).map((r) => ({
          ...l,
          repository: r,
        })),
      );

      // Act
      const allowed: string[] = [];
      for (const repo of listed) {
        for (const action of PUSH_AND_CHANGE_ACTIONS) {
          const resource = repositoryArn(repo.region, repo.account, repo.repository);
          if ((await decide(identity, action, resource, repo.account)) === 'Allowed')
            allowed.push(`${action} ${resource}`);
        }
      }

      // Assess
      expect(listed.length).toBeGreaterThan(0);
      expect(allowed).toEqual([]);
    });
  });
});
