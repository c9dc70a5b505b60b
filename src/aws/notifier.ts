/**
 * Notifications to the alarm topic (SNS). The client is narrowed to the one command sent, so a test can
 * hand in a real client against moto or a recording stand-in. Publishing never fails a run: a message
 * that could not be sent is logged by the caller, and the ledger has the state either way.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Notification } from '../report/transitions.ts';

/** The environment variable naming the topic notifications go to; without it, none are sent. */
export const ALARM_TOPIC_ENV = 'CRED_COURIER_ALARM_TOPIC_ARN';

/** Sends one notification. */
export interface Notifier {
  notify(notification: Notification): Promise<void>;
}

/** The part of the SNS client the notifier uses. */
export interface PublishClient {
  send(command: PublishCommand): Promise<unknown>;
}

/** A notifier publishing to `topicArn`; the client defaults to the SDK's default chain (honours AWS_ENDPOINT_URL). */
export function snsNotifier(topicArn: string, client: PublishClient = new SNSClient({})): Notifier {
  return {
    async notify(notification) {
      await client.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: notification.subject,
          Message: notification.message,
          // Subscribers can filter (an SQS queue per team, a chat hook for one cluster).
          MessageAttributes: {
            cluster: { DataType: 'String', StringValue: notification.cluster },
            transitions: {
              DataType: 'String.Array',
              StringValue: JSON.stringify([...new Set(notification.transitions.map((t) => t.type))]),
            },
          },
        }),
      );
    },
  };
}
