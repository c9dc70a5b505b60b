/**
 * Where the function's connections leave from: the `egress` deploy param and the VPC resources it needs.
 *
 * - `shared` (the default): no VPC. Calls leave from Lambda's shared AWS addresses, which change:
 *   nothing to allowlist, no network cost.
 * - `nat`: the stack creates a VPC with, per availability zone (`egressZones`, 1-3), a public subnet
 *   holding a NAT gateway with an Elastic IP and a private subnet for the function. Every connection
 *   leaves from those Elastic IPs, which the stack outputs (`EgressIps`) for the clusters' allowlists.
 * - `existing`: the function runs in subnets and security groups the operator names (a VPC that already
 *   routes to on-prem networks over a VPN or a Transit Gateway); egress is that VPC's own route.
 *
 * Pure: validates the params and returns template fragments (resources, outputs, the function's
 * VpcConfig and checkov suppressions, the role's ENI statements); nothing calls AWS.
 */
import type { Cfn, IamStatement } from './serverless-config.ts';

export const EGRESS_MODES = ['shared', 'nat', 'existing'] as const;
export type EgressMode = (typeof EGRESS_MODES)[number];

/**
 * `gateway`: the free S3 and DynamoDB gateway endpoints. `all`: those and an interface endpoint (with
 * private DNS) for every other AWS API the function calls, each billed per hour and availability zone.
 */
export const ENDPOINT_SETS = ['none', 'gateway', 'all'] as const;
export type EndpointSet = (typeof ENDPOINT_SETS)[number];

/**
 * The AWS APIs the function's code calls (src/aws, src/kinds), as VPC endpoint service names. No ECR
 * `dkr` endpoint: the function mints tokens (`api`), it never pulls an image; no CloudWatch Logs,
 * SQS or KMS endpoint: the Lambda service writes the logs, sends to the on-failure destination and
 * decrypts the environment outside the function's network, and SNS calls KMS for an encrypted topic.
 */
export const INTERFACE_ENDPOINT_SERVICES = {
  SecretsManager: 'secretsmanager', // kubeconfig-store.ts, kubeconfig-writer.ts: Get/Describe/PutSecretValue
  Sts: 'sts', // assume-role.ts: AssumeRole for ECR registries and S3 grants
  EcrApi: 'ecr.api', // kinds/ecr: GetAuthorizationToken
  Sns: 'sns', // notifier.ts: Publish to the alarm topic
} as const;
export const GATEWAY_ENDPOINT_SERVICES = {
  DynamoDb: 'dynamodb', // ledger.ts: Scan, GetItem, PutItem, DeleteItem
  S3: 's3', // kinds/s3: ListObjectsV2 and ListParts probes of fresh sessions
} as const;

/** 443: GKE, AKS, EKS and most managed API servers; 6443: kubeadm, k3s, RKE2 and OpenShift. */
export const DEFAULT_EGRESS_PORTS: readonly number[] = [443, 6443];
const DEFAULT_EGRESS_ZONES = 1;
const MAX_EGRESS_ZONES = 3;
/** Lambda's limits on a function's VpcConfig. */
const MAX_SUBNETS = 16;
const MAX_SECURITY_GROUPS = 5;
/** A security group holds 60 rules per direction by default; leave room for the operator's own. */
const MAX_EGRESS_PORTS = 20;
/** The stack's VPC: /24 subnets carved from it, public ones first, then the function's private ones. */
const VPC_CIDR = '10.0.0.0/16';

const SUBNET_ID = /^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const SECURITY_GROUP_ID = /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** What serverless.yml passes in `custom.credCourier` for the network (strings from the command line). */
export interface RawNetworkInputs {
  readonly egress?: unknown;
  readonly egressZones?: unknown;
  readonly egressPorts?: unknown;
  readonly vpcEndpoints?: unknown;
  readonly subnetIds?: unknown;
  readonly securityGroupIds?: unknown;
  readonly logRetentionInDays?: unknown;
}

export type NetworkInputs =
  | { readonly mode: 'shared' }
  | {
      readonly mode: 'nat';
      readonly zones: number;
      readonly egressPorts: readonly number[];
      readonly endpoints: EndpointSet;
      /** The flow logs' retention: the function's own (provider.logRetentionInDays). */
      readonly logRetentionInDays: number;
    }
  | {
      readonly mode: 'existing';
      readonly subnetIds: readonly string[];
      readonly securityGroupIds: readonly string[];
    };

const isEmpty = (value: unknown) => value === undefined || value === null || String(value).trim() === '';

/** A comma-separated param (`--param "subnetIds=subnet-a,subnet-b"`) or a YAML list, as trimmed strings. */
function listParam(value: unknown): string[] {
  if (isEmpty(value)) return [];
  const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

function oneOf<T extends string>(
  problems: string[],
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (isEmpty(value)) return fallback;
  const text = String(value).trim();
  if ((allowed as readonly string[]).includes(text)) return text as T;
  problems.push(`param ${name}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return fallback;
}

function idsParam(
  problems: string[],
  name: string,
  value: unknown,
  pattern: RegExp,
  example: string,
  max: number,
): string[] {
  const ids = listParam(value);
  if (ids.length === 0) {
    problems.push(
      `param ${name}: expected a comma-separated list of IDs such as ${example} with egress=existing, got none`,
    );
    return ids;
  }
  const bad = ids.filter((id) => !pattern.test(id));
  if (bad.length > 0) {
    problems.push(
      `param ${name}: ${bad.map((id) => JSON.stringify(id)).join(', ')} not an ID such as ${example}`,
    );
  }
  const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
  if (repeated.length > 0)
    problems.push(`param ${name}: ${[...new Set(repeated)].join(', ')} given more than once`);
  if (ids.length > max) problems.push(`param ${name}: at most ${max} (Lambda's limit), got ${ids.length}`);
  return ids;
}

function portsParam(problems: string[], value: unknown): number[] {
  if (isEmpty(value)) return [...DEFAULT_EGRESS_PORTS];
  const items = listParam(value);
  const ports = items.map((item) => (/^\d+$/.test(item) ? Number(item) : Number.NaN));
  const bad = items.filter((_, index) => !(Number(ports[index]) >= 1 && Number(ports[index]) <= 65_535));
  if (items.length === 0 || bad.length > 0) {
    problems.push(
      `param egressPorts: expected comma-separated TCP ports from 1 to 65535 (such as 443,6443), got ${JSON.stringify(value)}`,
    );
  } else if (new Set(ports).size !== ports.length) {
    problems.push(`param egressPorts: a port is given more than once in ${JSON.stringify(value)}`);
  } else if (ports.length > MAX_EGRESS_PORTS) {
    problems.push(`param egressPorts: at most ${MAX_EGRESS_PORTS} ports, got ${ports.length}`);
  }
  return [...new Set(ports)].sort((a, b) => a - b);
}

/** Params that belong to other modes than the one chosen: named, so a typo in `egress` shows. */
function misplaced(
  problems: string[],
  raw: RawNetworkInputs,
  mode: EgressMode,
  names: (keyof RawNetworkInputs)[],
) {
  const owner: Partial<Record<keyof RawNetworkInputs, EgressMode>> = {
    egressZones: 'nat',
    egressPorts: 'nat',
    vpcEndpoints: 'nat',
    subnetIds: 'existing',
    securityGroupIds: 'existing',
  };
  for (const name of names) {
    if (isEmpty(raw[name])) continue;
    const why =
      mode === 'existing' && (name === 'egressPorts' || name === 'vpcEndpoints')
        ? name === 'egressPorts'
          ? ': the security groups you name decide the ports'
          : ': add the endpoints to your own VPC (see the README)'
        : '';
    problems.push(`param ${name}: applies only with egress=${owner[name]}, not egress=${mode}${why}`);
  }
}

/**
 * Validates the network params, adding every problem to `problems` (reported with the other params'
 * problems by parseInputs). Mode-specific params are empty by default and refused in the other modes.
 */
export function parseNetworkInputs(raw: RawNetworkInputs, problems: string[]): NetworkInputs {
  const mode = oneOf(problems, 'egress', raw.egress, EGRESS_MODES, 'shared');
  if (mode === 'shared') {
    misplaced(problems, raw, mode, [
      'egressZones',
      'egressPorts',
      'vpcEndpoints',
      'subnetIds',
      'securityGroupIds',
    ]);
    return { mode };
  }
  if (mode === 'existing') {
    misplaced(problems, raw, mode, ['egressZones', 'egressPorts', 'vpcEndpoints']);
    return {
      mode,
      subnetIds: idsParam(
        problems,
        'subnetIds',
        raw.subnetIds,
        SUBNET_ID,
        'subnet-0123456789abcdef0',
        MAX_SUBNETS,
      ),
      securityGroupIds: idsParam(
        problems,
        'securityGroupIds',
        raw.securityGroupIds,
        SECURITY_GROUP_ID,
        'sg-0123456789abcdef0',
        MAX_SECURITY_GROUPS,
      ),
    };
  }
  misplaced(problems, raw, mode, ['subnetIds', 'securityGroupIds']);
  let zones = DEFAULT_EGRESS_ZONES;
  if (!isEmpty(raw.egressZones)) {
    const text = String(raw.egressZones).trim();
    zones = /^\d$/.test(text) ? Number(text) : Number.NaN;
    if (!(zones >= 1 && zones <= MAX_EGRESS_ZONES)) {
      problems.push(
        `param egressZones: expected 1 to ${MAX_EGRESS_ZONES} availability zones (one NAT gateway and Elastic IP each), got ${JSON.stringify(raw.egressZones)}`,
      );
      zones = DEFAULT_EGRESS_ZONES;
    }
  }
  const retention = Number(raw.logRetentionInDays);
  if (!Number.isInteger(retention) || retention < 1) {
    problems.push(
      `param logRetentionInDays: expected a number of days, got ${JSON.stringify(raw.logRetentionInDays ?? null)}`,
    );
  }
  return {
    mode,
    zones,
    egressPorts: portsParam(problems, raw.egressPorts),
    endpoints: oneOf(problems, 'vpcEndpoints', raw.vpcEndpoints, ENDPOINT_SETS, 'none'),
    logRetentionInDays: Number.isInteger(retention) ? retention : 1,
  };
}

// ---------------------------------------------------------------------------------------------------
// Template fragments
// ---------------------------------------------------------------------------------------------------

type Resource = {
  readonly Type: string;
  readonly Properties: Record<string, Cfn>;
  readonly DependsOn?: string | readonly string[];
  readonly Metadata?: Record<string, Cfn>;
};

interface CheckovSkip {
  readonly id: string;
  readonly comment: string;
}

export interface NetworkFragments {
  readonly resources: Record<string, Resource>;
  readonly outputs: Record<string, Cfn>;
  /** Merged into the framework's function resource (serverless.yml `resources.extensions`). */
  readonly functionExtension: {
    readonly Properties?: { readonly VpcConfig: Cfn };
    readonly Metadata: { readonly checkov: { readonly skip: readonly CheckovSkip[] } };
  };
  /** Appended to the function role's statements: the network interfaces Lambda manages for it. */
  readonly iamStatements: readonly IamStatement[];
}

const sub = (text: string): Cfn => ({ 'Fn::Sub': text });
const ref = (id: string): Cfn => ({ Ref: id });
const indices = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

/** The function's checkov suppressions, each with its reason; CKV_AWS_117 ("not in a VPC") only without one. */
function functionCheckovSkips(mode: EgressMode): CheckovSkip[] {
  return [
    {
      id: 'CKV_AWS_116',
      comment:
        'Failed asynchronous invocations go to an SQS on-failure destination (EventInvokeConfig), which records the error as well as the event; a DeadLetterConfig would duplicate it.',
    },
    ...(mode === 'shared'
      ? [
          {
            id: 'CKV_AWS_117',
            comment:
              "With egress=shared the function reaches Kubernetes API servers on other clouds over the internet from Lambda's own network; a VPC would only add a NAT gateway in the path (egress=nat or egress=existing put it in one).",
          },
        ]
      : []),
    {
      id: 'CKV_AWS_115',
      comment:
        'No reserved concurrency: the ECR and S3 schedules may fire together and must not throttle each other, and a reservation fails on accounts whose concurrency quota is below 100 + the reservation.',
    },
    {
      id: 'CKV_AWS_173',
      comment:
        'The environment holds a file path, a table name and Node options, no secret; the AWS managed key Lambda uses by default is enough.',
    },
  ];
}

/**
 * The ENI permissions Lambda needs to attach the function to its subnets (what the framework would add
 * as the AWS managed AWSLambdaVPCAccessExecutionRole, which also grants logs on every group), cut down:
 * interfaces are created only in the function's subnets with its security groups and managed only in
 * the stack's account and region; the two Describe actions have no resource-level permissions. Lambda
 * makes these calls outside the function's execution environment, without `lambda:SourceFunctionArn`;
 * the function's own code always carries it, so the Deny keeps the code itself from using any of them.
 */
function eniStatements(subnets: readonly Cfn[], securityGroups: readonly Cfn[]): IamStatement[] {
  const arn = (account: string, resource: string) =>
    `arn:\${AWS::Partition}:ec2:\${AWS::Region}:${account}:${resource}`;
  const own = `\${AWS::AccountId}`;
  // Subnets and security groups may be shared with this account (VPC sharing): any owner, exact IDs.
  const byId = (kind: string, id: Cfn) =>
    typeof id === 'string'
      ? sub(arn('*', `${kind}/${id}`))
      : { 'Fn::Sub': [arn('*', `${kind}/\${Id}`), { Id: id }] };
  const actions = [
    'ec2:AssignPrivateIpAddresses',
    'ec2:CreateNetworkInterface',
    'ec2:DeleteNetworkInterface',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSubnets',
    'ec2:UnassignPrivateIpAddresses',
  ];
  return [
    {
      Sid: 'AttachToTheFunctionsSubnets',
      Effect: 'Allow',
      Action: ['ec2:CreateNetworkInterface'],
      Resource: [
        sub(arn(own, 'network-interface/*')),
        ...subnets.map((id) => byId('subnet', id)),
        ...securityGroups.map((id) => byId('security-group', id)),
      ],
    },
    {
      Sid: 'ManageTheFunctionsInterfaces',
      Effect: 'Allow',
      Action: [
        'ec2:AssignPrivateIpAddresses',
        'ec2:DeleteNetworkInterface',
        'ec2:UnassignPrivateIpAddresses',
      ],
      Resource: [sub(arn(own, 'network-interface/*'))],
    },
    {
      Sid: 'DescribeTheFunctionsInterfaces',
      Effect: 'Allow',
      Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      Resource: '*',
    },
    {
      Sid: 'NoInterfaceCallsFromTheFunctionsCode',
      Effect: 'Deny',
      Action: actions,
      Resource: '*',
      Condition: { Null: { 'lambda:SourceFunctionArn': 'false' } },
    },
  ];
}

const egressRule = (port: number): Cfn => ({
  IpProtocol: 'tcp',
  FromPort: port,
  ToPort: port,
  CidrIp: '0.0.0.0/0',
  Description: `Kubernetes API servers and AWS APIs on TCP ${port}`,
});

/** The stack's VPC: public subnets with NAT gateways and Elastic IPs, private subnets for the function. */
function natNetwork(network: Extract<NetworkInputs, { mode: 'nat' }>): NetworkFragments {
  const zones = indices(network.zones);
  const resources: Record<string, Resource> = {
    Vpc: {
      Type: 'AWS::EC2::VPC',
      Properties: {
        CidrBlock: VPC_CIDR,
        // Interface endpoints' private DNS names need both. Nothing is placed in the VPC's default
        // security group (the function and the endpoints have their own); CloudFormation cannot empty
        // it without a custom resource, a function with ec2:Revoke* rights for no traffic it would stop.
        // Flow logs (below) record every connection of the VPC.
        EnableDnsSupport: true,
        EnableDnsHostnames: true,
        Tags: [{ Key: 'Name', Value: sub(`\${AWS::StackName}`) }],
      },
    },
    InternetGateway: { Type: 'AWS::EC2::InternetGateway', Properties: {} },
    InternetGatewayAttachment: {
      Type: 'AWS::EC2::VPCGatewayAttachment',
      Properties: { VpcId: ref('Vpc'), InternetGatewayId: ref('InternetGateway') },
    },
    PublicRouteTable: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: ref('Vpc') } },
    PublicDefaultRoute: {
      Type: 'AWS::EC2::Route',
      DependsOn: 'InternetGatewayAttachment',
      Properties: {
        RouteTableId: ref('PublicRouteTable'),
        DestinationCidrBlock: '0.0.0.0/0',
        GatewayId: ref('InternetGateway'),
      },
    },
    FunctionSecurityGroup: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'cred-courier function: no inbound; outbound TCP to the egressPorts only',
        VpcId: ref('Vpc'),
        SecurityGroupEgress: network.egressPorts.map(egressRule),
      },
    },
    // CloudWatch Logs: every connection the function makes or has refused, for an audit of its egress.
    FlowLogGroup: {
      Type: 'AWS::Logs::LogGroup',
      Metadata: {
        checkov: {
          skip: [
            {
              id: 'CKV_AWS_158',
              comment:
                "Flow log records hold addresses, ports and byte counts of the function's connections, never a credential; CloudWatch Logs' default encryption is enough.",
            },
          ],
        },
      },
      Properties: { RetentionInDays: network.logRetentionInDays },
    },
    FlowLogRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
              Action: 'sts:AssumeRole',
              // Only this account's flow logs (confused deputy).
              Condition: {
                StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
                ArnLike: {
                  'aws:SourceArn': sub(
                    `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:vpc-flow-log/*`,
                  ),
                },
              },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'deliver-flow-logs',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
                  Resource: { 'Fn::GetAtt': ['FlowLogGroup', 'Arn'] },
                },
                {
                  Effect: 'Allow',
                  Action: ['logs:DescribeLogGroups'],
                  Resource: sub(`arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:*`),
                },
              ],
            },
          },
        ],
      },
    },
    FlowLog: {
      Type: 'AWS::EC2::FlowLog',
      Properties: {
        ResourceId: ref('Vpc'),
        ResourceType: 'VPC',
        TrafficType: 'ALL',
        LogDestinationType: 'cloud-watch-logs',
        LogGroupName: ref('FlowLogGroup'),
        DeliverLogsPermissionArn: { 'Fn::GetAtt': ['FlowLogRole', 'Arn'] },
      },
    },
  };
  const cidr = (index: number): Cfn => ({
    'Fn::Select': [index, { 'Fn::Cidr': [{ 'Fn::GetAtt': ['Vpc', 'CidrBlock'] }, 2 * MAX_EGRESS_ZONES, 8] }],
  });
  for (const zone of zones) {
    const az: Cfn = { 'Fn::Select': [zone - 1, { 'Fn::GetAZs': '' }] };
    resources[`PublicSubnet${zone}`] = {
      Type: 'AWS::EC2::Subnet',
      // Only the NAT gateway lives here, with its Elastic IP: nothing gets a public address by default.
      Properties: {
        VpcId: ref('Vpc'),
        AvailabilityZone: az,
        CidrBlock: cidr(zone - 1),
        MapPublicIpOnLaunch: false,
      },
    };
    resources[`PublicSubnet${zone}RouteTableAssociation`] = {
      Type: 'AWS::EC2::SubnetRouteTableAssociation',
      Properties: { SubnetId: ref(`PublicSubnet${zone}`), RouteTableId: ref('PublicRouteTable') },
    };
    resources[`NatEip${zone}`] = {
      Type: 'AWS::EC2::EIP',
      DependsOn: 'InternetGatewayAttachment',
      Properties: { Domain: 'vpc', Tags: [{ Key: 'Name', Value: sub(`\${AWS::StackName}-egress-${zone}`) }] },
    };
    resources[`NatGateway${zone}`] = {
      Type: 'AWS::EC2::NatGateway',
      Properties: {
        SubnetId: ref(`PublicSubnet${zone}`),
        AllocationId: { 'Fn::GetAtt': [`NatEip${zone}`, 'AllocationId'] },
      },
    };
    resources[`PrivateSubnet${zone}`] = {
      Type: 'AWS::EC2::Subnet',
      Properties: {
        VpcId: ref('Vpc'),
        AvailabilityZone: az,
        CidrBlock: cidr(MAX_EGRESS_ZONES + zone - 1),
        MapPublicIpOnLaunch: false,
      },
    };
    // One route table per zone: the function's traffic leaves through its own zone's NAT gateway.
    resources[`PrivateRouteTable${zone}`] = {
      Type: 'AWS::EC2::RouteTable',
      Properties: { VpcId: ref('Vpc') },
    };
    resources[`PrivateDefaultRoute${zone}`] = {
      Type: 'AWS::EC2::Route',
      Properties: {
        RouteTableId: ref(`PrivateRouteTable${zone}`),
        DestinationCidrBlock: '0.0.0.0/0',
        NatGatewayId: ref(`NatGateway${zone}`),
      },
    };
    resources[`PrivateSubnet${zone}RouteTableAssociation`] = {
      Type: 'AWS::EC2::SubnetRouteTableAssociation',
      Properties: { SubnetId: ref(`PrivateSubnet${zone}`), RouteTableId: ref(`PrivateRouteTable${zone}`) },
    };
  }
  const privateSubnets = zones.map((zone) => ref(`PrivateSubnet${zone}`));
  if (network.endpoints !== 'none') {
    for (const [name, service] of Object.entries(GATEWAY_ENDPOINT_SERVICES)) {
      resources[`${name}GatewayEndpoint`] = {
        Type: 'AWS::EC2::VPCEndpoint',
        Properties: {
          VpcId: ref('Vpc'),
          VpcEndpointType: 'Gateway',
          ServiceName: sub(`com.amazonaws.\${AWS::Region}.${service}`),
          RouteTableIds: zones.map((zone) => ref(`PrivateRouteTable${zone}`)),
        },
      };
    }
  }
  if (network.endpoints === 'all') {
    resources.EndpointSecurityGroup = {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'cred-courier interface endpoints: HTTPS from the function only',
        VpcId: ref('Vpc'),
        SecurityGroupIngress: [
          {
            IpProtocol: 'tcp',
            FromPort: 443,
            ToPort: 443,
            SourceSecurityGroupId: ref('FunctionSecurityGroup'),
            Description: 'HTTPS from the cred-courier function',
          },
        ],
        // An endpoint only answers (security groups are stateful): no outbound rule. Without one,
        // EC2 would add its allow-all default; a rule to the loopback address replaces it.
        SecurityGroupEgress: [
          { IpProtocol: '-1', CidrIp: '127.0.0.1/32', Description: 'No outbound traffic' },
        ],
      },
    };
    for (const [name, service] of Object.entries(INTERFACE_ENDPOINT_SERVICES)) {
      resources[`${name}InterfaceEndpoint`] = {
        Type: 'AWS::EC2::VPCEndpoint',
        Properties: {
          VpcId: ref('Vpc'),
          VpcEndpointType: 'Interface',
          ServiceName: sub(`com.amazonaws.\${AWS::Region}.${service}`),
          SubnetIds: privateSubnets,
          SecurityGroupIds: [ref('EndpointSecurityGroup')],
          PrivateDnsEnabled: true,
        },
      };
    }
  }
  return {
    resources,
    outputs: {
      EgressMode: {
        Description: 'Where the function connects from',
        Value: `nat: every connection leaves from the EgressIps (one NAT gateway per availability zone)`,
      },
      EgressIps: {
        Description:
          'Allowlist these public addresses on the clusters (GKE authorized networks, AKS authorized IP ranges, firewalls)',
        Value: { 'Fn::Join': [',', zones.map((zone) => ref(`NatEip${zone}`))] },
      },
      VpcId: { Description: 'The VPC the function runs in', Value: ref('Vpc') },
      FunctionSubnetIds: {
        Description: 'The private subnets the function runs in',
        Value: { 'Fn::Join': [',', privateSubnets] },
      },
      FunctionSecurityGroupIds: {
        Description: 'The function security group (outbound TCP to the egressPorts only)',
        Value: ref('FunctionSecurityGroup'),
      },
    },
    functionExtension: {
      Properties: {
        VpcConfig: { SubnetIds: privateSubnets, SecurityGroupIds: [ref('FunctionSecurityGroup')] },
      },
      Metadata: { checkov: { skip: functionCheckovSkips('nat') } },
    },
    iamStatements: eniStatements(privateSubnets, [ref('FunctionSecurityGroup')]),
  };
}

/** The template fragments of the egress mode chosen (none but the function's suppressions for `shared`). */
export function networkFragments(network: NetworkInputs): NetworkFragments {
  if (network.mode === 'nat') return natNetwork(network);
  if (network.mode === 'existing') {
    return {
      resources: {},
      outputs: {
        EgressMode: {
          Description: 'Where the function connects from',
          Value:
            "existing: connections leave through the route of the FunctionSubnetIds (your NAT gateway, firewall, VPN or Transit Gateway): allowlist that route's addresses",
        },
        FunctionSubnetIds: {
          Description: 'The subnets the function runs in (param subnetIds)',
          Value: network.subnetIds.join(','),
        },
        FunctionSecurityGroupIds: {
          Description: 'The security groups of the function (param securityGroupIds)',
          Value: network.securityGroupIds.join(','),
        },
      },
      functionExtension: {
        Properties: {
          VpcConfig: { SubnetIds: [...network.subnetIds], SecurityGroupIds: [...network.securityGroupIds] },
        },
        Metadata: { checkov: { skip: functionCheckovSkips('existing') } },
      },
      iamStatements: eniStatements(network.subnetIds, network.securityGroupIds),
    };
  }
  return {
    resources: {},
    outputs: {},
    functionExtension: { Metadata: { checkov: { skip: functionCheckovSkips('shared') } } },
    iamStatements: [],
  };
}
