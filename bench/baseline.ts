/**
 * The naive approach, as in-cluster refresher jobs do it: one cluster after another, each minting its
 * own credentials (an ECR token, an S3 session: what each cluster's own job would ask AWS for), then,
 * namespace by namespace and Secret by Secret, GET the Secret and create it (POST) when absent or
 * replace it (PUT, with the read resourceVersion) when present. One request at a time, over one
 * keep-alive connection per cluster (kubectl or client-go would reuse theirs too), through the same
 * proxy with the same kubeconfigs. No ServiceAccount handling, no inventory: less work than cred-courier.
 */
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { parse } from 'yaml';
import { defaultAwsClients } from '../src/aws/clients.ts';
import {
  type AwsCallCounts,
  countingAws,
  maxRssMiB,
  peaksOf,
  phase,
  type RunMeasurement,
  shapeOf,
  watchMemory,
} from './measure.ts';

export interface BaselineJob {
  readonly mode: 'baseline';
  readonly clusters: readonly {
    readonly name: string;
    readonly secretId: string;
    readonly namespaces: readonly string[];
  }[];
  readonly ecrSecretName: string;
  readonly s3SecretName: string;
  readonly roleArn: string;
  readonly region: string;
}

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { token: string } }[];
}

interface Response {
  readonly status: number;
  readonly body: string;
}

function call(agent: Agent, server: URL, token: string, method: string, path: string, body?: unknown) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<Response>((done, fail) => {
    const req = request(
      new URL(path, server),
      {
        method,
        agent,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${token}`,
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on('error', fail);
    req.end(payload);
  });
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

export async function runBaseline(job: BaselineJob): Promise<RunMeasurement> {
  const calls: AwsCallCounts = { ecrToken: 0, assumeRole: 0, s3Probe: 0, getSecretValue: 0 };
  const aws = countingAws(defaultAwsClients(), calls);
  const requestsByShape: Record<string, number> = {};
  const delivered: Record<string, number> = {};
  const failures: Record<string, number> = {};
  const sampleLines: string[] = [];
  let kubeRequests = 0;
  let secretsFailed = 0;
  await phase('start');
  const stopWatching = watchMemory();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (const cluster of job.clusters) {
    const text = (await aws.secretsManager().send(new GetSecretValueCommand({ SecretId: cluster.secretId })))
      .SecretString;
    const kubeconfig = parse(text ?? '') as Kubeconfig;
    const server = new URL(kubeconfig.clusters[0]?.cluster.server ?? '');
    const ca = Buffer.from(kubeconfig.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64');
    const token = kubeconfig.users[0]?.user.token ?? '';
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
    // The cluster's own job mints its own credentials.
    const ecr = await aws.ecr(job.region).send(new GetAuthorizationTokenCommand({}));
    const session = await aws.sts(job.region).send(
      new AssumeRoleCommand({
        RoleArn: job.roleArn,
        RoleSessionName: `naive-${cluster.name}`,
        DurationSeconds: 3600,
      }),
    );
    const authorization = ecr.authorizationData?.[0];
    const decoded = Buffer.from(authorization?.authorizationToken ?? '', 'base64').toString();
    const dockerConfig = JSON.stringify({
      auths: {
        [String(authorization?.proxyEndpoint).replace(/^https:\/\//, '')]: {
          username: 'AWS',
          password: decoded.slice(decoded.indexOf(':') + 1),
          auth: authorization?.authorizationToken,
        },
      },
    });
    const credentials = session.Credentials;
    const manifests = [
      {
        name: job.ecrSecretName,
        type: 'kubernetes.io/dockerconfigjson',
        data: { '.dockerconfigjson': b64(dockerConfig) },
      },
      {
        name: job.s3SecretName,
        type: 'Opaque',
        data: {
          AWS_ACCESS_KEY_ID: b64(credentials?.AccessKeyId ?? ''),
          AWS_SECRET_ACCESS_KEY: b64(credentials?.SecretAccessKey ?? ''),
          AWS_SESSION_TOKEN: b64(credentials?.SessionToken ?? ''),
          AWS_REGION: b64(job.region),
        },
      },
    ];
    const send = async (method: string, path: string, body?: unknown) => {
      kubeRequests++;
      const shape = shapeOf(method, path);
      requestsByShape[shape] = (requestsByShape[shape] ?? 0) + 1;
      return call(agent, server, token, method, path, body);
    };
    for (const namespace of cluster.namespaces) {
      for (const manifest of manifests) {
        const path = `/api/v1/namespaces/${namespace}/secrets`;
        const secret = {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: manifest.name,
            namespace,
            labels: { 'app.kubernetes.io/managed-by': 'naive-job' },
          },
          type: manifest.type,
          data: manifest.data,
        };
        const current = await send('GET', `${path}/${manifest.name}`);
        let written: Response;
        if (current.status === 404) written = await send('POST', path, secret);
        else {
          const { resourceVersion } = (JSON.parse(current.body) as { metadata: { resourceVersion: string } })
            .metadata;
          written = await send('PUT', `${path}/${manifest.name}`, {
            ...secret,
            metadata: { ...secret.metadata, resourceVersion },
          });
        }
        if (written.status === 201) delivered.created = (delivered.created ?? 0) + 1;
        else if (written.status === 200) delivered.updated = (delivered.updated ?? 0) + 1;
        else {
          secretsFailed++;
          failures[`http-${written.status}`] = (failures[`http-${written.status}`] ?? 0) + 1;
          if (sampleLines.length < 5) sampleLines.push(`${written.status} ${written.body.slice(0, 300)}`);
        }
      }
    }
    agent.destroy();
  }
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  await phase('end');
  return {
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    kubeRequests,
    requestsByShape,
    aws: calls,
    delivered,
    secretsFailed,
    clustersFailed: 0,
    failures,
    warnings: 0,
    sampleLines,
    maxRssMiB: maxRssMiB(),
    ...peaksOf(stopWatching()),
    clustersMeasured: job.clusters.length,
  };
}
