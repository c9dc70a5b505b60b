/**
 * The egress params as parseInputs (scripts/serverless-config.ts) reads them, without osls: each mode's
 * defaults, and every bad value refused with the param named.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_EGRESS_PORTS, networkFragments } from '../../../scripts/network.ts';
import { PackagingError, parseInputs, type RawInputs } from '../../../scripts/serverless-config.ts';

const BASE: RawInputs = {
  config: 'config/clusters.yaml',
  ecrScheduleHours: 4,
  timeout: 300,
  alarmEmail: '',
  perClusterAlarms: false,
  logRetentionInDays: 30,
  // As serverless.yml defaults them: empty.
  egress: 'shared',
  egressZones: '',
  egressPorts: '',
  vpcEndpoints: '',
  subnetIds: '',
  securityGroupIds: '',
};

function problemOf(raw: RawInputs): string {
  try {
    parseInputs({ ...BASE, ...raw });
  } catch (error) {
    expect(error).toBeInstanceOf(PackagingError);
    return (error as Error).message;
  }
  throw new Error('expected a PackagingError');
}

describe('the egress params', () => {
  it('default to no VPC: the inputs carry no network at all', () => {
    expect(parseInputs(BASE).network).toBeUndefined();
    expect(parseInputs({ ...BASE, egress: '' }).network).toBeUndefined();
  });

  it('nat: one zone, ports 443 and 6443, no endpoint unless asked', () => {
    expect(parseInputs({ ...BASE, egress: 'nat' }).network).toEqual({
      mode: 'nat',
      zones: 1,
      egressPorts: [443, 6443],
      endpoints: 'none',
      logRetentionInDays: 30,
    });
    expect(DEFAULT_EGRESS_PORTS).toEqual([443, 6443]);
    expect(
      parseInputs({
        ...BASE,
        egress: 'nat',
        egressZones: '3',
        egressPorts: ' 8443, 443 ',
        vpcEndpoints: 'gateway',
      }).network,
    ).toMatchObject({ zones: 3, egressPorts: [443, 8443], endpoints: 'gateway' });
  });

  it('existing: the subnets and security groups, trimmed, in order', () => {
    expect(
      parseInputs({
        ...BASE,
        egress: 'existing',
        subnetIds: 'subnet-0123456789abcdef0, subnet-89abcdef',
        securityGroupIds: 'sg-0123456789abcdef0',
      }).network,
    ).toEqual({
      mode: 'existing',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-89abcdef'],
      securityGroupIds: ['sg-0123456789abcdef0'],
    });
  });

  it.each([
    [{ egress: 'vpc' }, 'param egress: expected one of shared, nat, existing, got "vpc"'],
    [{ egress: 'nat', egressZones: '4' }, 'param egressZones: expected 1 to 3 availability zones'],
    [{ egress: 'nat', egressZones: '0' }, 'param egressZones: expected 1 to 3 availability zones'],
    [{ egress: 'nat', egressZones: 'two' }, 'param egressZones: expected 1 to 3 availability zones'],
    [
      { egress: 'nat', egressPorts: '443,70000' },
      'param egressPorts: expected comma-separated TCP ports from 1 to 65535',
    ],
    [{ egress: 'nat', egressPorts: 'https' }, 'param egressPorts: expected comma-separated TCP ports'],
    [{ egress: 'nat', egressPorts: '443,443' }, 'param egressPorts: a port is given more than once'],
    [
      { egress: 'nat', vpcEndpoints: 'yes' },
      'param vpcEndpoints: expected one of none, gateway, all, got "yes"',
    ],
    [
      { egress: 'nat', subnetIds: 'subnet-0123456789abcdef0' },
      'param subnetIds: applies only with egress=existing, not egress=nat',
    ],
    [
      { egress: 'shared', egressZones: '2' },
      'param egressZones: applies only with egress=nat, not egress=shared',
    ],
    [
      {
        egress: 'existing',
        subnetIds: 'subnet-0123456789abcdef0',
        securityGroupIds: 'sg-0123456789abcdef0',
        egressPorts: '443',
      },
      'param egressPorts: applies only with egress=nat, not egress=existing: the security groups you name decide the ports',
    ],
    [
      {
        egress: 'existing',
        subnetIds: 'subnet-0123456789abcdef0',
        securityGroupIds: 'sg-0123456789abcdef0',
        vpcEndpoints: 'all',
      },
      'param vpcEndpoints: applies only with egress=nat, not egress=existing',
    ],
    [
      { egress: 'existing', securityGroupIds: 'sg-0123456789abcdef0' },
      'param subnetIds: expected a comma-separated list of IDs such as subnet-0123456789abcdef0 with egress=existing, got none',
    ],
    [
      { egress: 'existing', subnetIds: 'subnet-0123456789abcdef0' },
      'param securityGroupIds: expected a comma-separated list of IDs',
    ],
    [
      {
        egress: 'existing',
        subnetIds: 'subnet-0123456789abcdef0,vpc-0123456789abcdef0',
        securityGroupIds: 'sg-1',
      },
      'param subnetIds: "vpc-0123456789abcdef0" not an ID such as subnet-0123456789abcdef0',
    ],
    [
      {
        egress: 'existing',
        subnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef0',
        securityGroupIds: 'sg-0123456789abcdef0',
      },
      'param subnetIds: subnet-0123456789abcdef0 given more than once',
    ],
    [
      {
        egress: 'existing',
        subnetIds: 'subnet-0123456789abcdef0',
        securityGroupIds: ['1', '2', '3', '4', '5', '6'].map((n) => `sg-0123456789abcdef${n}`).join(','),
      },
      "param securityGroupIds: at most 5 (Lambda's limit), got 6",
    ],
  ])('refuses %j: %s', (raw, message) => {
    expect(problemOf(raw)).toContain(message);
  });

  it('reports the egress problems together with the other params', () => {
    const message = problemOf({ ecrScheduleHours: '12', egress: 'existing' });
    expect(message.split('\n')[0]).toBe('3 problems:');
    expect(message).toContain('param ecrScheduleHours');
    expect(message).toContain('param subnetIds');
    expect(message).toContain('param securityGroupIds');
  });
});

describe('networkFragments', () => {
  it('adds nothing but the function suppressions without a VPC', () => {
    const fragments = networkFragments({ mode: 'shared' });
    expect(fragments.resources).toEqual({});
    expect(fragments.outputs).toEqual({});
    expect(fragments.iamStatements).toEqual([]);
    expect(fragments.functionExtension.Properties).toBeUndefined();
  });

  it('follows egressPorts in the function security group', () => {
    const fragments = networkFragments({
      mode: 'nat',
      zones: 1,
      egressPorts: [8443],
      endpoints: 'none',
      logRetentionInDays: 7,
    });
    const egress = fragments.resources.FunctionSecurityGroup?.Properties.SecurityGroupEgress as {
      FromPort: number;
    }[];
    expect(egress.map((rule) => rule.FromPort)).toEqual([8443]);
    expect(fragments.resources.FlowLogGroup?.Properties.RetentionInDays).toBe(7);
  });
});
