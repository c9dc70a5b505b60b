/**
 * `sls package` (osls, offline) in each egress mode: the default without a VPC, `nat` (the stack's VPC,
 * NAT gateways with Elastic IPs, endpoints) and `existing` (the operator's subnets and security
 * groups). Per mode: the network resources and the egress outputs, the function's VpcConfig, its
 * role's network-interface statements under the IAM oracle, cfn-lint and checkov; then params that
 * packaging refuses, each named. One project copy per mode, packaged one after another.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { INTERFACE_ENDPOINT_SERVICES } from '../../../scripts/network.ts';
import {
  packagedModes,
  resourcesOfType,
  SLS_TIMEOUT_MS,
  slsPackage,
  staticAnalysisTests,
  TEMPLATE_FILE,
  type Template,
} from './sls.ts';

const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'];
const SECURITY_GROUP = 'sg-0a1b2c3d4e5f60718';

const MODES = {
  shared: {},
  nat: { egress: 'nat', egressZones: '2', vpcEndpoints: 'all' },
  natMinimal: { egress: 'nat' },
  existing: { egress: 'existing', subnetIds: SUBNETS.join(','), securityGroupIds: SECURITY_GROUP },
} as const;
type Mode = keyof typeof MODES;

const { project, template } = packagedModes(MODES);

interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | readonly string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

const roleOf = (t: Template) => t.Resources.IamRoleLambdaExecution?.Properties ?? {};
const statementsOf = (t: Template): Statement[] =>
  (roleOf(t).Policies as { PolicyDocument: { Statement: Statement[] } }[])[0]?.PolicyDocument.Statement ?? [];
const actionsOf = (s: Statement) => [s.Action].flat();
const functionOf = (t: Template) => t.Resources.DistributeLambdaFunction;
const skipsOf = (t: Template) => (functionOf(t)?.Metadata?.checkov?.skip ?? []).map((skip) => skip.id);
const typesOf = (t: Template) => Object.values(t.Resources).map((resource) => resource.Type);
const ENI_SIDS = [
  'AttachToTheFunctionsSubnets',
  'ManageTheFunctionsInterfaces',
  'DescribeTheFunctionsInterfaces',
  'NoInterfaceCallsFromTheFunctionsCode',
];

describe('egress=shared (the default)', () => {
  it('has no VPC, no network resource, no VpcConfig and no egress output', () => {
    const t = template('shared');
    expect(typesOf(t).filter((type) => type.startsWith('AWS::EC2::'))).toEqual([]);
    expect(functionOf(t)?.Properties.VpcConfig).toBeUndefined();
    expect(Object.keys(t.Outputs).filter((name) => /Egress|Vpc|Subnet|SecurityGroup/.test(name))).toEqual([]);
  });

  it('grants no network-interface action, and keeps the framework from adding its VPC managed policy', () => {
    const t = template('shared');
    expect(
      statementsOf(t)
        .flatMap(actionsOf)
        .filter((action) => action.startsWith('ec2:')),
    ).toEqual([]);
    expect(roleOf(t).ManagedPolicyArns ?? []).toEqual([]);
  });

  it('suppresses CKV_AWS_117 ("not in a VPC") here, and only here', () => {
    expect(skipsOf(template('shared'))).toEqual(['CKV_AWS_116', 'CKV_AWS_117', 'CKV_AWS_115', 'CKV_AWS_173']);
    for (const mode of ['nat', 'natMinimal', 'existing'] as const) {
      expect(skipsOf(template(mode)), mode).toEqual(['CKV_AWS_116', 'CKV_AWS_115', 'CKV_AWS_173']);
    }
  });
});

describe('egress=nat with egressZones=2 and vpcEndpoints=all', () => {
  const t = () => template('nat');
  const ofType = (type: string) => resourcesOfType(t(), type);

  it('creates per zone a public subnet with a NAT gateway and its Elastic IP, and a private subnet routed through it', () => {
    expect(ofType('AWS::EC2::VPC')).toHaveLength(1);
    expect(ofType('AWS::EC2::EIP').map(([id]) => id)).toEqual(['NatEip1', 'NatEip2']);
    const nats = ofType('AWS::EC2::NatGateway');
    expect(nats.map(([id, nat]) => [id, nat.Properties])).toEqual([
      [
        'NatGateway1',
        { SubnetId: { Ref: 'PublicSubnet1' }, AllocationId: { 'Fn::GetAtt': ['NatEip1', 'AllocationId'] } },
      ],
      [
        'NatGateway2',
        { SubnetId: { Ref: 'PublicSubnet2' }, AllocationId: { 'Fn::GetAtt': ['NatEip2', 'AllocationId'] } },
      ],
    ]);
    const routes = Object.fromEntries(ofType('AWS::EC2::Route').map(([id, route]) => [id, route.Properties]));
    expect(routes.PublicDefaultRoute).toMatchObject({
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: { Ref: 'InternetGateway' },
    });
    for (const zone of [1, 2]) {
      expect(routes[`PrivateDefaultRoute${zone}`]).toEqual({
        RouteTableId: { Ref: `PrivateRouteTable${zone}` },
        DestinationCidrBlock: '0.0.0.0/0',
        NatGatewayId: { Ref: `NatGateway${zone}` },
      });
    }
    // Distinct zones, distinct /24s, and no subnet hands out public addresses.
    const subnets = ofType('AWS::EC2::Subnet').map(([, subnet]) => subnet.Properties);
    expect(subnets).toHaveLength(4);
    expect(new Set(subnets.map((s) => JSON.stringify(s.CidrBlock))).size).toBe(4);
    expect(new Set(subnets.map((s) => JSON.stringify(s.AvailabilityZone))).size).toBe(2);
    for (const subnet of subnets) expect(subnet.MapPublicIpOnLaunch).toBe(false);
  });

  it('puts the function in the private subnets with its own security group', () => {
    expect(functionOf(t())?.Properties.VpcConfig).toEqual({
      SubnetIds: [{ Ref: 'PrivateSubnet1' }, { Ref: 'PrivateSubnet2' }],
      SecurityGroupIds: [{ Ref: 'FunctionSecurityGroup' }],
    });
  });

  it('outputs the Elastic IPs to allowlist, the mode, the VPC, subnets and security group', () => {
    expect(t().Outputs.EgressIps).toEqual({
      Description: expect.stringContaining('Allowlist'),
      Value: { 'Fn::Join': [',', [{ Ref: 'NatEip1' }, { Ref: 'NatEip2' }]] },
    });
    expect(JSON.stringify(t().Outputs.EgressMode)).toContain(
      'nat: every connection leaves from the EgressIps',
    );
    expect(Object.keys(t().Outputs)).toEqual(
      expect.arrayContaining(['VpcId', 'FunctionSubnetIds', 'FunctionSecurityGroupIds']),
    );
  });

  it('lets the function connect out on TCP 443 and 6443 only, and nothing in', () => {
    const group = t().Resources.FunctionSecurityGroup?.Properties ?? {};
    expect(group.SecurityGroupIngress).toBeUndefined();
    expect(group.SecurityGroupEgress).toEqual(
      [443, 6443].map((port) => ({
        IpProtocol: 'tcp',
        FromPort: port,
        ToPort: port,
        CidrIp: '0.0.0.0/0',
        Description: `Kubernetes API servers and AWS APIs on TCP ${port}`,
      })),
    );
  });

  it('adds the S3 and DynamoDB gateway endpoints and an interface endpoint with private DNS per AWS API the function calls', () => {
    const endpoints = ofType('AWS::EC2::VPCEndpoint').map(([, endpoint]) => endpoint.Properties);
    const services = (type: string) =>
      endpoints
        .filter((e) => e.VpcEndpointType === type)
        .map((e) =>
          (e.ServiceName as { 'Fn::Sub': string })['Fn::Sub'].replace(`com.amazonaws.\${AWS::Region}.`, ''),
        )
        .sort();
    expect(services('Gateway')).toEqual(['dynamodb', 's3']);
    expect(services('Interface')).toEqual(['ecr.api', 'secretsmanager', 'sns', 'sts']);
    expect(services('Interface')).toEqual(Object.values(INTERFACE_ENDPOINT_SERVICES).sort());
    for (const endpoint of endpoints.filter((e) => e.VpcEndpointType === 'Interface')) {
      expect(endpoint).toMatchObject({
        PrivateDnsEnabled: true,
        SubnetIds: [{ Ref: 'PrivateSubnet1' }, { Ref: 'PrivateSubnet2' }],
        SecurityGroupIds: [{ Ref: 'EndpointSecurityGroup' }],
      });
    }
    for (const endpoint of endpoints.filter((e) => e.VpcEndpointType === 'Gateway')) {
      expect(endpoint.RouteTableIds).toEqual([{ Ref: 'PrivateRouteTable1' }, { Ref: 'PrivateRouteTable2' }]);
    }
    expect(props('Vpc')).toMatchObject({ EnableDnsSupport: true, EnableDnsHostnames: true });
  });

  const props = (id: string) => t().Resources[id]?.Properties ?? {};

  it('covers every AWS API client the bundled function contains with an endpoint', () => {
    // The endpoint of each SDK client's service; a client added to the function without one fails here.
    const ENDPOINT_OF_CLIENT: Record<string, string> = {
      'client-dynamodb': 'dynamodb',
      'client-ecr': 'ecr.api',
      'client-s3': 's3',
      'client-secrets-manager': 'secretsmanager',
      'client-sns': 'sns',
      'client-sts': 'sts',
    };
    const map = JSON.parse(readFileSync(join(project('nat').dir, 'dist/distribute.mjs.map'), 'utf8')) as {
      sources: string[];
    };
    const clients = new Set(
      map.sources.flatMap((source) => /@aws-sdk\/(client-[a-z0-9-]+)\//.exec(source)?.[1] ?? []),
    );
    expect([...clients].sort()).toEqual(Object.keys(ENDPOINT_OF_CLIENT).sort());
    const services = ofType('AWS::EC2::VPCEndpoint').map(([, e]) =>
      (e.Properties.ServiceName as { 'Fn::Sub': string })['Fn::Sub'].replace(
        `com.amazonaws.\${AWS::Region}.`,
        '',
      ),
    );
    expect(services.sort()).toEqual(Object.values(ENDPOINT_OF_CLIENT).sort());
  });

  it("lets only the function's security group reach the interface endpoints, on 443", () => {
    expect(props('EndpointSecurityGroup').SecurityGroupIngress).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        SourceSecurityGroupId: { Ref: 'FunctionSecurityGroup' },
        Description: 'HTTPS from the cred-courier function',
      },
    ]);
    // No outbound: the loopback rule replaces EC2's allow-all default.
    expect(props('EndpointSecurityGroup').SecurityGroupEgress).toEqual([
      { IpProtocol: '-1', CidrIp: '127.0.0.1/32', Description: 'No outbound traffic' },
    ]);
  });

  it("logs every flow of the VPC, delivered by a role only this account's flow logs can assume", () => {
    expect(props('FlowLog')).toMatchObject({
      ResourceId: { Ref: 'Vpc' },
      ResourceType: 'VPC',
      TrafficType: 'ALL',
    });
    expect(props('FlowLogGroup').RetentionInDays).toBe(30);
    const trust = JSON.stringify(props('FlowLogRole').AssumeRolePolicyDocument);
    expect(trust).toContain('vpc-flow-logs.amazonaws.com');
    expect(trust).toContain('aws:SourceAccount');
    expect(trust).toContain('vpc-flow-log/*');
    const policy = JSON.stringify(props('FlowLogRole').Policies);
    expect(policy).not.toContain('"Resource":"*"');
  });

  it("uses nothing of the VPC's default security group", () => {
    expect(JSON.stringify(t())).not.toContain('DefaultSecurityGroup');
  });
});

describe('egress=nat with the defaults', () => {
  it('creates one zone: one NAT gateway, one Elastic IP, no endpoint', () => {
    const t = template('natMinimal');
    expect(resourcesOfType(t, 'AWS::EC2::NatGateway')).toHaveLength(1);
    expect(resourcesOfType(t, 'AWS::EC2::VPCEndpoint')).toEqual([]);
    expect(resourcesOfType(t, 'AWS::EC2::SecurityGroup').map(([id]) => id)).toEqual([
      'FunctionSecurityGroup',
    ]);
    expect(t.Outputs.EgressIps).toMatchObject({ Value: { 'Fn::Join': [',', [{ Ref: 'NatEip1' }]] } });
    expect(functionOf(t)?.Properties.VpcConfig).toEqual({
      SubnetIds: [{ Ref: 'PrivateSubnet1' }],
      SecurityGroupIds: [{ Ref: 'FunctionSecurityGroup' }],
    });
  });
});

describe('egress=existing', () => {
  const t = () => template('existing');

  it("creates no network, and puts the function in the operator's subnets and security groups", () => {
    expect(typesOf(t()).filter((type) => type.startsWith('AWS::EC2::'))).toEqual([]);
    expect(functionOf(t())?.Properties.VpcConfig).toEqual({
      SubnetIds: SUBNETS,
      SecurityGroupIds: [SECURITY_GROUP],
    });
  });

  it("outputs that egress is the operator's own route, with the subnets and security groups used", () => {
    expect(JSON.stringify(t().Outputs.EgressMode)).toContain('existing: connections leave through the route');
    expect(t().Outputs.FunctionSubnetIds).toMatchObject({ Value: SUBNETS.join(',') });
    expect(t().Outputs.FunctionSecurityGroupIds).toMatchObject({ Value: SECURITY_GROUP });
    expect(t().Outputs.EgressIps).toBeUndefined();
  });
});

describe('the function role in a VPC', () => {
  const DEPLOYED = { 'AWS::AccountId': '111122223333', 'AWS::Region': 'eu-west-1', 'AWS::Partition': 'aws' };
  const resolve = (value: unknown): unknown =>
    JSON.parse(
      JSON.stringify(value).replace(/\{"Fn::Sub":"([^"]*)"\}/g, (_, text: string) =>
        JSON.stringify(
          text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => DEPLOYED[name as keyof typeof DEPLOYED]),
        ),
      ),
    );

  it.each(['nat', 'existing'] as const)(
    '(%s) adds exactly the network-interface statements to the statements of the file, and no managed policy',
    (mode) => {
      const t = template(mode);
      const bySid = Object.fromEntries(
        statementsOf(t).map((s) => [s.Sid ?? `framework ${actionsOf(s)[0]}`, s]),
      );
      const shared = statementsOf(template('shared')).map((s) => s.Sid ?? `framework ${actionsOf(s)[0]}`);
      expect(Object.keys(bySid).sort()).toEqual([...shared, ...ENI_SIDS].sort());
      expect(roleOf(t).ManagedPolicyArns ?? []).toEqual([]);
      expect(actionsOf(bySid.AttachToTheFunctionsSubnets as Statement)).toEqual([
        'ec2:CreateNetworkInterface',
      ]);
      // "*" only where EC2 has no resource-level permissions: the two Describe actions (and the Deny).
      const wildcard = statementsOf(t).filter(
        (s) => s.Effect === 'Allow' && [s.Resource].flat().includes('*'),
      );
      expect(wildcard.flatMap(actionsOf).sort()).toEqual([
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ecr:GetAuthorizationToken',
      ]);
    },
  );

  const decide = async (action: string, resource: string, context: Record<string, string>) => {
    const eni = statementsOf(template('existing')).filter((s) => ENI_SIDS.includes(s.Sid ?? ''));
    const response = await runSimulation(
      {
        request: {
          principal: 'arn:aws:iam::111122223333:role/cred-courier-dev-eu-west-1-lambdaRole',
          action,
          resource: { resource, accountId: '111122223333' },
          contextVariables: context,
        },
        identityPolicies: [
          { name: 'function', policy: { Version: '2012-10-17', Statement: resolve(eni) } as never },
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (response.resultType !== 'single') throw new Error(`iam-simulate: ${JSON.stringify(response)}`);
    expect(response.result.ignoredContextKeys ?? []).toEqual([]);
    return response.overallResult;
  };
  const arn = (resource: string) => `arn:aws:ec2:eu-west-1:111122223333:${resource}`;
  const FROM_THE_CODE = {
    'lambda:SourceFunctionArn': 'arn:aws:lambda:eu-west-1:111122223333:function:cred-courier-dev-distribute',
  };

  it.each([
    ['in a subnet the param names', arn(`subnet/${SUBNETS[1]}`), 'Allowed'],
    ['with the security group the param names', arn(`security-group/${SECURITY_GROUP}`), 'Allowed'],
    [
      'in a subnet shared from another account, by its ID',
      `arn:aws:ec2:eu-west-1:444455556666:subnet/${SUBNETS[0]}`,
      'Allowed',
    ],
    ['in another subnet', arn('subnet/subnet-0aaaaaaaaaaaaaaaa'), 'ImplicitlyDenied'],
    ['with another security group', arn('security-group/sg-0bbbbbbbbbbbbbbbb'), 'ImplicitlyDenied'],
    ['in another region', `arn:aws:ec2:us-east-1:111122223333:subnet/${SUBNETS[0]}`, 'ImplicitlyDenied'],
  ])('lets Lambda create the function network interfaces %s: %s', async (_name, resource, expected) => {
    expect(await decide('ec2:CreateNetworkInterface', resource, {})).toBe(expected);
  });

  it.each([
    ['ec2:CreateNetworkInterface', arn(`subnet/${SUBNETS[0]}`)],
    ['ec2:DeleteNetworkInterface', arn('network-interface/eni-0123456789abcdef0')],
    ['ec2:DescribeNetworkInterfaces', '*'],
  ])(
    "refuses %s to the function's own code (lambda:SourceFunctionArn set), which Lambda itself may call",
    async (action, resource) => {
      expect(await decide(action, resource, {})).toBe('Allowed');
      expect(await decide(action, resource, FROM_THE_CODE)).toBe('ExplicitlyDenied');
    },
  );
});

describe.each(Object.keys(MODES) as Mode[])('static analysis of the %s template', (mode) => {
  staticAnalysisTests(
    () => join(project(mode).dir, TEMPLATE_FILE),
    () => template(mode),
  );
});

describe('sls package refuses bad egress params', () => {
  it(
    'naming every param at fault, before anything is built',
    async () => {
      const shared = project('shared');
      const result = await slsPackage(shared.dir, {
        config: join(shared.dir, 'sample.yaml'),
        egress: 'existing',
        // securityGroupIds left out: osls itself refuses an empty --param value.
        subnetIds: 'subnet-123,subnet-0123456789abcdef0',
        egressZones: '2',
      });
      expect(result.code).not.toBe(0);
      expect(result.output).toContain('3 problems:');
      expect(result.output).toContain('param egressZones: applies only with egress=nat, not egress=existing');
      expect(result.output).toContain(
        'param subnetIds: "subnet-123" not an ID such as subnet-0123456789abcdef0',
      );
      expect(result.output).toContain(
        'param securityGroupIds: expected a comma-separated list of IDs such as sg-0123456789abcdef0',
      );
      expect(result.output).not.toContain('Service packaged');
    },
    SLS_TIMEOUT_MS,
  );
});
