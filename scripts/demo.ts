/**
 * `npm run demo`: cred-courier end to end on the local stack, through its own command line.
 *
 * 1. starts the test rig (two real Kubernetes clusters with RBAC, moto as AWS);
 * 2. creates the demo namespaces, an ECR repository and an S3 bucket in moto;
 * 3. writes a registration file to a temporary folder: cluster-a with an ECR pull Secret and an S3 grant;
 * 4. `cred-courier register` for both clusters from their admin kubeconfigs (cluster-b is added to the
 *    file by register itself: namespaces and ECR registry from options);
 * 5. `cred-courier run` (ECR and S3), then `cred-courier status` and `cred-courier check`;
 * 6. stops the stack.
 *
 * Every command's output is printed as an operator would see it. Exit code: 0 when every step did.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { main as cli } from '../src/cli/main.ts';
import { ensureNamespace } from '../test/rig/accounts.ts';
import { type Rig, startRig } from '../test/rig/rig.ts';

export interface DemoStep {
  readonly command: readonly string[];
  readonly exitCode: number;
}

export interface DemoResult {
  readonly ok: boolean;
  readonly steps: readonly DemoStep[];
}

export interface DemoOptions {
  /** Where narration goes (default: stderr, so stdout carries only the commands' own output). */
  readonly say?: (line: string) => void;
}

const NAMESPACES = { a: ['demo-app', 'demo-web'], b: ['demo-api'] } as const;
const BUCKET = 'demo-reports';

/** The registration file the demo starts from: cluster-a only, with comments register must keep. */
function demoConfig(): string {
  return `# cred-courier demo registration file (written by scripts/demo.ts).
settings:
  clusterDeadlineSeconds: 30

defaults:
  ecr:
    # The pull Secret every cluster gets, from the demo account's registry.
    secretName: ecr-pull
    registries: [{ region: eu-west-1 }]

clusters:
  # cluster-a: ECR everywhere, an S3 read grant for demo-web only.
  - name: cluster-a
    kubeconfigSecret: cred-courier/demo/cluster-a
    namespaces: { names: [${NAMESPACES.a.join(', ')}] }
    s3:
      - secretName: reports-reader
        roleArn: arn:aws:iam::123456789012:role/cred-courier-demo-s3
        region: eu-west-1
        namespaces: [demo-web]
        buckets: [{ bucket: ${BUCKET}, prefix: reports, access: read }]
`;
}

/** Points the AWS SDK (and so the CLI) at the rig's moto. */
function useRigAws(rig: Rig): void {
  process.env.AWS_ENDPOINT_URL = rig.aws.endpoint;
  process.env.AWS_REGION = rig.aws.region;
  process.env.AWS_ACCESS_KEY_ID = rig.aws.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = rig.aws.secretAccessKey;
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}

async function prepareAws(): Promise<void> {
  await new ECRClient({}).send(new CreateRepositoryCommand({ repositoryName: 'demo/app' }));
  const s3 = new S3Client({ forcePathStyle: true });
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'reports/2026/q1.csv', Body: 'quarter,total\nq1,42\n' }),
  );
}

/** Runs the whole demo; the stack is stopped whatever happens. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-demo-'));
  const file = join(dir, 'clusters.yaml');
  const steps: DemoStep[] = [];
  say('demo: starting the local stack (two Kubernetes clusters, moto)…');
  const rig = await startRig({ log: say });
  try {
    useRigAws(rig);
    const { a, b } = rig.clusters;
    for (const namespace of NAMESPACES.a) await ensureNamespace(a, namespace);
    for (const namespace of NAMESPACES.b) await ensureNamespace(b, namespace);
    await prepareAws();
    writeFileSync(file, demoConfig());
    say(`demo: registration file ${file}`);

    const commands: string[][] = [
      ['register', 'cluster-a', '--kubeconfig', a.adminKubeconfigPath, '-c', file],
      [
        'register',
        'cluster-b',
        '--kubeconfig',
        b.adminKubeconfigPath,
        '--namespaces',
        NAMESPACES.b.join(','),
        '--kubeconfig-secret',
        'cred-courier/demo/cluster-b',
        '-c',
        file,
      ],
      ['run', '-c', file],
      ['status', '-c', file],
      ['check', '-c', file],
    ];
    for (const command of commands) {
      say(
        `\n$ cred-courier ${command.map((arg) => (arg.startsWith('/') ? arg.replace(dir, '$DEMO') : arg)).join(' ')}`,
      );
      process.exitCode = undefined;
      const exitCode = await cli(command);
      process.exitCode = undefined;
      steps.push({ command, exitCode });
      if (exitCode !== 0) {
        say(`demo: cred-courier ${command[0]} exited ${exitCode}; stopping`);
        break;
      }
    }
  } finally {
    say('\ndemo: stopping the local stack');
    await rig.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { ok: steps.length === 5 && steps.every((s) => s.exitCode === 0), steps };
}

if (import.meta.main) {
  const result = await runDemo();
  process.exitCode = result.ok ? 0 : 1;
}
