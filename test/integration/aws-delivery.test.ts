/**
 * AWS role sessions (the `aws` kind) delivered to the rig's clusters: a DynamoDB grant and an SQS grant,
 * the GetCallerIdentity probe in the log, and a real AWS SDK (boto3) configured only by the delivered
 * `config` files, the way a Pod's volumes present them, reading a DynamoDB item and sending an SQS
 * message, and carrying on across a re-delivery without a restart.
 *
 * moto does not enforce session policies: what a session may do is proven by the IAM oracle
 * (src/kinds/aws/oracle.test.ts); here the sessions are real STS sessions of moto, used by boto3.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { kubeRequest } from '../rig/kube-http.ts';
import {
  capturedRun,
  configOf,
  type RegisteredCluster,
  registerCluster,
  SESSION_SECRET_KEYS,
  withSessionDuration,
} from './fixtures.ts';
import { startPythonConsumer } from './python-consumer.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const DYNAMODB_ROLE = `arn:aws:iam::${ACCOUNT}:role/cred-courier-orders`;
const SQS_ROLE = `arn:aws:iam::${ACCOUNT}:role/cred-courier-events`;

interface SecretBody {
  type: string;
  data: Record<string, string>;
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
}

const decoded = (secret: SecretBody, key: string) => Buffer.from(secret.data[key] ?? '', 'base64').toString();

async function readSecret(namespace: string, name: string): Promise<SecretBody> {
  const c = theRig().clusters.a;
  return (
    await kubeRequest(c, c.adminToken, 'GET', `/api/v1/namespaces/${namespace}/secrets/${name}`)
  ).json<SecretBody>();
}

describe.skipIf(!rig)(`AWS role sessions on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const table = uniqueName('orders');
  const queueName = uniqueName('events');
  let queueUrl = '';
  let cluster: RegisteredCluster;
  const namespace = uniqueName('app');

  beforeAll(async () => {
    const dynamodb = new DynamoDBClient({ region: REGION });
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await dynamodb.send(
      new PutItemCommand({ TableName: table, Item: { id: { S: 'order-1' }, total: { N: '42' } } }),
    );
    queueUrl = (
      await new SQSClient({ region: REGION }).send(new CreateQueueCommand({ QueueName: queueName }))
    ).QueueUrl as string;
    cluster = await registerCluster(theRig().clusters.a, {
      namespaces: [namespace],
      secretNames: ['orders-table', 'events-queue'],
      serviceAccounts: [],
    });
  });

  /** Both grants, each mounted at its own directory (the Pod's two volumes). */
  function yaml(mounts: { orders: string; events: string }, durationSeconds = 3600): string {
    return `settings:
  controlNamespace: ${cluster.controlNamespace}
clusters:
  - name: ${cluster.name}
    kubeconfigSecret: ${cluster.secretId}
    namespaces: { names: [${namespace}] }
    aws:
      - secretName: orders-table
        roleArn: ${DYNAMODB_ROLE}
        region: ${REGION}
        durationSeconds: ${durationSeconds}
        mountPath: ${mounts.orders}
        policy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:Query]
              Resource: arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}
      - secretName: events-queue
        roleArn: ${SQS_ROLE}
        region: ${REGION}
        durationSeconds: ${durationSeconds}
        mountPath: ${mounts.events}
        sessionTags: { team: orders }
        policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:${REGION}:${ACCOUNT}:${queueName}"}]}'
`;
  }

  it('delivers a DynamoDB grant and an SQS grant as Opaque Secrets with every consumable form, probed with GetCallerIdentity', async () => {
    // Prepare
    const config = configOf(yaml({ orders: '/var/run/orders', events: '/var/run/events' }));

    // Act
    const run = await capturedRun(config, { kinds: ['aws'] });

    // Assess
    expect(run.result.ok).toBe(true);
    const orders = await readSecret(namespace, 'orders-table');
    const events = await readSecret(namespace, 'events-queue');
    for (const [secret, mount] of [
      [orders, '/var/run/orders'],
      [events, '/var/run/events'],
    ] as const) {
      expect(secret.type).toBe('Opaque');
      expect(secret.metadata.labels['cred-courier.io/kind']).toBe('aws');
      expect(Object.keys(secret.data).sort()).toEqual(SESSION_SECRET_KEYS);
      expect(decoded(secret, 'config')).toBe(
        `[default]\nregion = ${REGION}\ncredential_process = cat ${mount}/credential-process.json\n`,
      );
      expect(JSON.parse(decoded(secret, 'credential-process.json'))).toMatchObject({
        Version: 1,
        AccessKeyId: decoded(secret, 'AWS_ACCESS_KEY_ID'),
      });
    }
    expect(decoded(orders, 'AWS_ACCESS_KEY_ID')).not.toBe(decoded(events, 'AWS_ACCESS_KEY_ID'));
    const probed = run.lines
      .filter((line) => line.includes('AWS session probed'))
      .map((line) => JSON.parse(line));
    expect(probed.map((line) => line.grant).sort()).toEqual(['events-queue', 'orders-table']);
    for (const line of probed)
      expect(line.sessionArn).toMatch(/^arn:aws:sts::\d{12}:assumed-role\/cred-courier-/);
    // No credential reaches the log.
    const log = run.lines.join('\n');
    for (const secret of [orders, events]) {
      expect(log).not.toContain(decoded(secret, 'AWS_SECRET_ACCESS_KEY'));
      expect(log).not.toContain(decoded(secret, 'AWS_SESSION_TOKEN'));
    }
  });

  it('a long-running boto3 client configured only by the delivered config files reads DynamoDB and sends to SQS, across a re-delivery without a restart', async () => {
    // Prepare: two volume directories laid out as the kubelet does (one file per key).
    const mounts = {
      orders: mkdtempSync(join(tmpdir(), 'cc-orders-')),
      events: mkdtempSync(join(tmpdir(), 'cc-events-')),
    };
    const project = async () => {
      const keys: Record<string, string> = {};
      for (const [name, volume] of [
        ['orders-table', mounts.orders],
        ['events-queue', mounts.events],
      ] as const) {
        const secret = await readSecret(namespace, name);
        // Like the kubelet: write the new files aside and swap them in.
        const next = `${volume}/..data-new`;
        rmSync(next, { recursive: true, force: true });
        mkdirSync(next);
        for (const key of Object.keys(secret.data)) writeFileSync(join(next, key), decoded(secret, key));
        for (const key of Object.keys(secret.data)) renameSync(join(next, key), join(volume, key));
        keys[name] = decoded(secret, 'AWS_ACCESS_KEY_ID');
      }
      return keys;
    };
    // Sessions about to expire, inside boto3's refresh window: a valid config with the grants' duration
    // shortened to STS's minimum, which validation (rightly) refuses for the schedule.
    await capturedRun(withSessionDuration(configOf(yaml(mounts)), 900), { kinds: ['aws'] });
    const firstKeys = await project();
    const consumer = startConsumer(mounts, table, queueUrl);

    try {
      // Act
      const first = await consumer.call('work 1');
      await capturedRun(configOf(yaml(mounts)), { kinds: ['aws'] });
      const secondKeys = await project();
      const second = await consumer.call('work 2');

      // Assess
      // For the record, with the access key IDs cut to their last four characters.
      const shown = (out: Record<string, unknown>) =>
        JSON.stringify(out).replace(/"(ASIA|AKIA)\w+(\w{4})"/g, '"…$2"');
      console.info(`boto3 consumer output:\n${shown(first)}\n${shown(second)}`);
      expect(first).toEqual({
        ok: true,
        item: { id: 'order-1', total: '42' },
        sent: true,
        dynamodbKey: firstKeys['orders-table'],
        sqsKey: firstKeys['events-queue'],
      });
      expect(secondKeys['orders-table']).not.toBe(firstKeys['orders-table']);
      expect(secondKeys['events-queue']).not.toBe(firstKeys['events-queue']);
      expect(second).toEqual({
        ok: true,
        item: { id: 'order-1', total: '42' },
        sent: true,
        dynamodbKey: secondKeys['orders-table'],
        sqsKey: secondKeys['events-queue'],
      });
      const received = await new SQSClient({ region: REGION }).send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
      );
      expect((received.Messages ?? []).map((m) => m.Body).sort()).toEqual([
        'order-1 seen 1',
        'order-1 seen 2',
      ]);
    } finally {
      consumer.stop();
    }
  });
});

/**
 * One boto3 session per mounted volume, each reading only that volume's `config` file (whose
 * credential_process reads the mounted JSON); the clients live as long as the process.
 */
const CONSUMER = `
import json, sys, boto3, botocore.session
def session(config_file):
    core = botocore.session.Session()
    core.set_config_variable('config_file', config_file)
    core.set_config_variable('credentials_file', config_file + '.absent')
    return boto3.Session(botocore_session=core)
signing = {}
def capture(name):
    def handler(request, **_):
        auth = request.headers.get('Authorization', b'')
        auth = auth.decode() if isinstance(auth, bytes) else auth
        signing[name] = auth.split('Credential=')[1].split('/')[0] if 'Credential=' in auth else None
    return handler
dynamodb = session(sys.argv[1]).client('dynamodb')
dynamodb.meta.events.register('before-send.dynamodb', capture('dynamodb'))
sqs = session(sys.argv[2]).client('sqs')
sqs.meta.events.register('before-send.sqs', capture('sqs'))
table, queue = sys.argv[3], sys.argv[4]
for line in sys.stdin:
    _, n = line.split()
    try:
        item = dynamodb.get_item(TableName=table, Key={'id': {'S': 'order-1'}})['Item']
        sqs.send_message(QueueUrl=queue, MessageBody='order-1 seen ' + n)
        out = {'ok': True, 'item': {'id': item['id']['S'], 'total': item['total']['N']}, 'sent': True,
               'dynamodbKey': signing.get('dynamodb'), 'sqsKey': signing.get('sqs')}
    except Exception as error:
        out = {'ok': False, 'error': str(error)}
    print(json.dumps(out), flush=True)
`;

function startConsumer(mounts: { orders: string; events: string }, table: string, queueUrl: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_REGION: REGION, AWS_DEFAULT_REGION: REGION };
  // Only the profiles' credential_process may supply credentials.
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
    delete env[name];
  return startPythonConsumer(
    CONSUMER,
    [join(mounts.orders, 'config'), join(mounts.events, 'config'), table, queueUrl],
    env,
  );
}
