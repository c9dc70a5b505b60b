/**
 * AWS clients that count each call made through them: the mint calls, the S3 probes and the kubeconfig
 * reads a run makes. Used by integration tests and the benchmark alike (no test-runner imports here).
 */
import type { AwsClients } from '../../src/aws/clients.ts';

export interface AwsCallCounts {
  /** ECR GetAuthorizationToken. */
  ecrToken: number;
  /** STS AssumeRole. */
  assumeRole: number;
  /** S3 probes of fresh sessions (ListObjectsV2 / ListParts). */
  s3Probe: number;
  /** Secrets Manager GetSecretValue (kubeconfigs). */
  getSecretValue: number;
}

/** AWS clients that count each call made through them. */
export function countingAws(
  real: AwsClients,
  calls: AwsCallCounts,
  onSecretsManager?: () => void,
): AwsClients {
  return {
    ecr: (region, credentials) => {
      const client = real.ecr(region, credentials);
      return {
        send: (command) => {
          calls.ecrToken++;
          return client.send(command);
        },
      };
    },
    sts: (region) => {
      const client = real.sts(region);
      return {
        send: (command) => {
          calls.assumeRole++;
          return client.send(command);
        },
      };
    },
    callerIdentity: (region, credentials) => real.callerIdentity(region, credentials),
    s3: (region, credentials) => {
      const client = real.s3(region, credentials);
      return {
        // biome-ignore lint/suspicious/noExplicitAny: forwards both overloads of S3Api.send
        send: (command: any) => {
          calls.s3Probe++;
          return client.send(command);
        },
        destroy: () => client.destroy?.(),
      };
    },
    secretsManager: () => {
      const client = real.secretsManager();
      return {
        send: (command) => {
          calls.getSecretValue++;
          onSecretsManager?.();
          return client.send(command);
        },
      };
    },
  };
}
