/**
 * moto-side fixtures shared by the ledger and notification tests (a ledger table, a topic read back) and
 * by tests that look at what reached moto (its request recorder).
 */
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { expect } from 'vitest';
import { theRig, uniqueName } from './rig-context.ts';

/** A request as moto's recorder wrote it. */
export interface RecordedRequest {
  readonly headers: Record<string, string>;
  readonly url: string;
  readonly body?: string;
  readonly body_encoded?: boolean;
}

/** A call of moto's request recorder (start, stop, download or reset the recording). */
export async function recorder(
  path: 'start-recording' | 'stop-recording' | 'download-recording' | 'reset-recording',
): Promise<string> {
  const response = await fetch(`${theRig().aws.endpoint}/moto-api/recorder/${path}`, {
    method: path === 'download-recording' ? 'GET' : 'POST',
  });
  expect(response.ok, `moto recorder ${path}: ${response.status}`).toBe(true);
  return response.text();
}

/** Every request moto received while `act` ran (from a reset recording; reset again after). */
export async function recordedDuring<T>(
  act: () => Promise<T>,
): Promise<{ result: T; requests: RecordedRequest[] }> {
  await recorder('reset-recording');
  await recorder('start-recording');
  let result: T;
  let recording: string;
  try {
    result = await act();
  } finally {
    await recorder('stop-recording');
    recording = await recorder('download-recording');
    // The recording holds what moto answered (credentials, kubeconfigs): leave none of it in its file.
    await recorder('reset-recording');
  }
  const requests = recording
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RecordedRequest);
  return { result, requests };
}

/** A recorded request's form-encoded body (the query protocol of STS and SNS). */
export function requestParams(entry: RecordedRequest): URLSearchParams {
  return new URLSearchParams(
    entry.body_encoded ? Buffer.from(entry.body ?? '', 'base64').toString('utf8') : (entry.body ?? ''),
  );
}

/** A ledger table as serverless.yml defines it (partition key `target`); the caller deletes it. */
export async function createLedgerTable(): Promise<string> {
  const name = uniqueName('cc-ledger');
  const client = new DynamoDBClient({});
  await client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'target', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'target', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: name });
  return name;
}

/** An SNS topic with an SQS queue subscribed: what reaches the topic can be read back. */
export async function topicWithQueue(): Promise<{
  topicArn: string;
  received: () => Promise<{ subject: string; message: string }[]>;
}> {
  const sns = new SNSClient({});
  const sqs = new SQSClient({});
  const { TopicArn: topicArn } = await sns.send(new CreateTopicCommand({ Name: uniqueName('cc-alarms') }));
  const { QueueUrl: queueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: uniqueName('cc-alarms') }),
  );
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  await sns.send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: attributes.Attributes?.QueueArn }),
  );
  if (!topicArn || !queueUrl) throw new Error('moto created no topic or queue');
  /** Every message delivered since the last call (SNS envelopes, unwrapped). */
  async function received(): Promise<{ subject: string; message: string }[]> {
    const messages: { subject: string; message: string }[] = [];
    for (;;) {
      const page = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (!page.Messages?.length) return messages;
      for (const m of page.Messages) {
        const envelope = JSON.parse(m.Body ?? '{}') as { Subject?: string; Message?: string };
        messages.push({ subject: envelope.Subject ?? '', message: envelope.Message ?? '' });
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
    }
  }
  return { topicArn, received };
}
