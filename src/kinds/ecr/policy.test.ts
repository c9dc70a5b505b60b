import { describe, expect, it } from 'vitest';
import {
  dnsSuffixOf,
  ECR_PULL_ACTIONS,
  ecrSessionPolicy,
  partitionOf,
  registryHost,
  repositoryArn,
} from './policy.ts';

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: string | string[];
}

interface Policy {
  readonly Version: string;
  readonly Statement: Statement[];
}

const ROLE = 'arn:aws:iam::111122223333:role/cred-courier-ecr-pull';

/** STS refuses a session policy whose plaintext is longer than this. */
const STS_POLICY_MAX_CHARS = 2048;

function parsed(policy: string | undefined): Policy {
  expect(policy).toBeTypeOf('string');
  return JSON.parse(policy ?? '') as Policy;
}

const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

/** Every resource the policy grants anything on, except the GetAuthorizationToken statement. */
function pullResources(policy: Policy): string[] {
  return policy.Statement.filter((s) => !asList(s.Action).includes('ecr:GetAuthorizationToken')).flatMap(
    (s) => asList(s.Resource),
  );
}

/** `count` distinct repository names of exactly `length` characters. */
function repositories(count: number, length: number): string[] {
  return Array.from({ length: count }, (_, i) => `team-${String(i).padStart(2, '0')}/`.padEnd(length, 'x'));
}

describe('Function: ecrSessionPolicy', () => {
  it('limits pulls to the role’s own account without an accountId (a role-minted token is never unscoped)', () => {
    // Prepare
    const input = { region: 'eu-west-1', roleArn: 'arn:aws:iam::444455556666:role/tenant-b-pull' };

    // Act
    const policy = parsed(ecrSessionPolicy(input));

    // Assess
    expect(pullResources(policy)).toEqual(['arn:aws:ecr:eu-west-1:444455556666:repository/*']);
  });

  it('prefers the registry’s accountId to the role’s account', () => {
    // Prepare
    const input = {
      region: 'eu-west-1',
      accountId: '111122223333',
      roleArn: 'arn:aws:iam::444455556666:role/x',
    };

    // Act
    const policy = parsed(ecrSessionPolicy(input));

    // Assess
    expect(pullResources(policy)).toEqual(['arn:aws:ecr:eu-west-1:111122223333:repository/*']);
  });

  it('limits pulls to every repository of the account in the region when no repositories are named', () => {
    // Prepare
    const input = { region: 'eu-west-1', roleArn: ROLE, accountId: '111122223333' };

    // Act
    const policy = parsed(ecrSessionPolicy(input));

    // Assess
    expect(policy.Version).toBe('2012-10-17');
    expect(pullResources(policy)).toEqual(['arn:aws:ecr:eu-west-1:111122223333:repository/*']);
  });

  it('treats an empty repositories list like no list', () => {
    // Prepare
    const input = { region: 'eu-west-1', roleArn: ROLE, accountId: '111122223333', repositories: [] };

    // Act
    const policy = parsed(ecrSessionPolicy(input));

    // Assess
    expect(pullResources(policy)).toEqual(['arn:aws:ecr:eu-west-1:111122223333:repository/*']);
  });

  it('limits pulls to exactly the named repositories, sorted, keeping `team-a/*` a prefix', () => {
    // Prepare
    const input = {
      region: 'eu-west-1',
      roleArn: ROLE,
      accountId: '111122223333',
      repositories: ['team-a/*', 'app/web', 'app/api'],
    };

    // Act
    const policy = parsed(ecrSessionPolicy(input));

    // Assess
    expect(pullResources(policy)).toEqual([
      'arn:aws:ecr:eu-west-1:111122223333:repository/app/api',
      'arn:aws:ecr:eu-west-1:111122223333:repository/app/web',
      'arn:aws:ecr:eu-west-1:111122223333:repository/team-a/*',
    ]);
  });

  it('does not reorder the caller’s repositories list', () => {
    // Prepare
    const repos = ['b/x', 'a/x'];

    // Act
    ecrSessionPolicy({ region: 'eu-west-1', roleArn: ROLE, accountId: '111122223333', repositories: repos });

    // Assess
    expect(repos).toEqual(['b/x', 'a/x']);
  });

  it('grants `Resource: "*"` only to ecr:GetAuthorizationToken', () => {
    // Prepare
    const input = {
      region: 'eu-west-1',
      roleArn: ROLE,
      accountId: '111122223333',
      repositories: ['app/api'],
    };

    // Act
    const policy = parsed(ecrSessionPolicy(input));

    // Assess
    const wildcard = policy.Statement.filter((s) => asList(s.Resource).includes('*'));
    expect(wildcard).toEqual([{ Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' }]);
    for (const statement of policy.Statement) {
      expect(statement.Effect).toBe('Allow');
      if (statement !== wildcard[0]) expect(asList(statement.Resource)).not.toContain('*');
    }
  });

  it('allows only pull actions: nothing that puts, deletes, creates or changes', () => {
    // Prepare
    const input = { region: 'eu-west-1', roleArn: ROLE, accountId: '111122223333' };

    // Act
    const policy = parsed(ecrSessionPolicy(input));

    // Assess
    const actions = policy.Statement.flatMap((s) => asList(s.Action)).sort();
    expect(actions).toEqual(
      [
        'ecr:BatchCheckLayerAvailability',
        'ecr:BatchGetImage',
        'ecr:GetAuthorizationToken',
        'ecr:GetDownloadUrlForLayer',
      ].sort(),
    );
    for (const action of actions) {
      expect(action).not.toMatch(/Put|Delete|Create|Upload|Set|Tag|Replicat|\*/);
    }
    expect([...ECR_PULL_ACTIONS].sort()).toEqual(actions.filter((a) => a !== 'ecr:GetAuthorizationToken'));
  });

  it.each([
    { region: 'cn-north-1', partition: 'aws-cn' },
    { region: 'cn-northwest-1', partition: 'aws-cn' },
    { region: 'us-gov-west-1', partition: 'aws-us-gov' },
    { region: 'us-east-1', partition: 'aws' },
  ])('writes $partition ARNs for $region', ({ region, partition }) => {
    // Prepare
    const input = { region, roleArn: ROLE, accountId: '111122223333', repositories: ['app/api'] };

    // Act
    const policy = parsed(ecrSessionPolicy(input));

    // Assess
    expect(pullResources(policy)).toEqual([`arn:${partition}:ecr:${region}:111122223333:repository/app/api`]);
  });

  it('produces valid JSON below the 2,048-character STS limit for 20 repositories of 40 characters in eu-west-1', () => {
    // Prepare
    const repos = repositories(20, 40);

    // Act
    const policy = ecrSessionPolicy({
      region: 'eu-west-1',
      roleArn: ROLE,
      accountId: '111122223333',
      repositories: repos,
    });

    // Assess
    expect(repos.every((repo) => repo.length === 40)).toBe(true);
    expect(pullResources(parsed(policy))).toHaveLength(20);
    expect(policy?.length).toBeLessThanOrEqual(STS_POLICY_MAX_CHARS);
  });

  // The builder does not trim: the limit is enforced where the policy is used (mint refuses it with a
  // message naming the scope; see ecr-kind.test.ts), so this only shows such a config exists.
  it('can exceed the 2,048-character STS limit for 20 repositories of 40 characters in ap-southeast-2', () => {
    // Prepare
    const repos = repositories(20, 40);

    // Act
    const policy = ecrSessionPolicy({
      region: 'ap-southeast-2',
      roleArn: ROLE,
      accountId: '111122223333',
      repositories: repos,
    });

    // Assess
    expect(pullResources(parsed(policy))).toHaveLength(20);
    expect(policy?.length).toBeGreaterThan(STS_POLICY_MAX_CHARS);
  });
});

describe('Function: partitionOf', () => {
  it.each([
    ['cn-north-1', 'aws-cn'],
    ['us-gov-east-1', 'aws-us-gov'],
    ['eu-central-1', 'aws'],
  ])('gives %s the %s partition', (region, partition) => {
    // Prepare
    const input = region;

    // Act
    const result = partitionOf(input);

    // Assess
    expect(result).toBe(partition);
  });
});

describe('Function: registryHost', () => {
  it.each([
    ['cn-north-1', '111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn'],
    ['cn-northwest-1', '111122223333.dkr.ecr.cn-northwest-1.amazonaws.com.cn'],
    ['us-gov-west-1', '111122223333.dkr.ecr.us-gov-west-1.amazonaws.com'],
    ['eu-west-1', '111122223333.dkr.ecr.eu-west-1.amazonaws.com'],
  ])('gives the registry host for %s', (region, host) => {
    // Prepare
    const account = '111122223333';

    // Act
    const result = registryHost(account, region);

    // Assess
    expect(result).toBe(host);
    expect(dnsSuffixOf(region)).toBe(host.slice(host.indexOf('.amazonaws.') + 1));
  });
});

describe('Function: repositoryArn', () => {
  it('builds the repository ARN in the region’s partition', () => {
    // Prepare
    const repository = 'team-a/*';

    // Act
    const arn = repositoryArn('cn-north-1', '111122223333', repository);

    // Assess
    expect(arn).toBe('arn:aws-cn:ecr:cn-north-1:111122223333:repository/team-a/*');
  });
});
