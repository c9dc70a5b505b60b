/** A recording stand-in for STS, for tests that check what a kind sends to AssumeRole (AWS is not called). */
import type { AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import type { StsApi } from '../../src/aws/clients.ts';

/** Keeps each AssumeRole input in `sent` and answers with fresh test credentials valid for `lifetimeMs`. */
export function recordingSts(sent: AssumeRoleCommandInput[], lifetimeMs: number): () => StsApi {
  return () => ({
    send: async (command) => {
      sent.push(command.input);
      return {
        $metadata: {},
        Credentials: {
          AccessKeyId: `test-${crypto.randomUUID()}`,
          SecretAccessKey: crypto.randomUUID(),
          SessionToken: crypto.randomUUID(),
          Expiration: new Date(Date.now() + lifetimeMs),
        },
      };
    },
  });
}
