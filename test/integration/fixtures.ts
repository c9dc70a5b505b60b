/**
 * Building blocks for delivery tests on the rig: registered clusters (a restricted identity's kubeconfig
 * stored in moto's Secrets Manager), configs, counting AWS clients and a captured log.
 */
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type AwsClients, defaultAwsClients } from '../../src/aws/clients.ts';
import { secretsManagerKubeconfigs } from '../../src/aws/kubeconfig-store.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import { inventoryRules, namespaceListingRules, secretRules } from '../../src/register/rbac.ts';
import { memoryLogger } from '../../src/report/logger.ts';
import { Redactor } from '../../src/report/redact.ts';
import { type RunOptions, runDelivery } from '../../src/run/run.ts';
import { createRestrictedAccount, ensureNamespace, ensureObject, type PolicyRule } from '../rig/accounts.ts';
import type { RigCluster } from '../rig/rig.ts';
import { type AwsCallCounts, countingAws as countingAwsClients } from '../support/counting-aws.ts';
import { uniqueName } from './rig-context.ts';

/** The permissions delivery needs in one target namespace: the rules `cred-courier rbac` generates. */
export function deliveryRules(
  secretNames: readonly string[],
  serviceAccounts: readonly string[],
): PolicyRule[] {
  return secretRules({ secretNames, serviceAccounts });
}

/** The permissions on the inventory in the control namespace, as generated. */
export const INVENTORY_RULES: PolicyRule[] = inventoryRules();

export interface RegisteredCluster {
  readonly name: string;
  readonly secretId: string;
  readonly controlNamespace: string;
  readonly namespaces: readonly string[];
  readonly token: string;
  /** The kubeconfig as stored. */
  readonly kubeconfig: string;
}

/**
 * Makes a least-privilege identity for delivering `secretNames` into `namespaces`, stores its kubeconfig
 * in Secrets Manager and returns how to name it in a config.
 */
export async function registerCluster(
  rigCluster: RigCluster,
  options: {
    readonly namespaces: readonly string[];
    readonly secretNames: readonly string[];
    readonly serviceAccounts?: readonly string[];
    readonly listNamespaces?: boolean;
    readonly kubeconfig?: (kubeconfig: string) => string;
  },
): Promise<RegisteredCluster> {
  const name = uniqueName(rigCluster.name);
  const controlNamespace = uniqueName('cc-control');
  for (const namespace of options.namespaces) await ensureNamespace(rigCluster, namespace);
  await ensureNamespace(rigCluster, controlNamespace);
  const account = await createRestrictedAccount(rigCluster, {
    namespace: controlNamespace,
    name: 'cred-courier',
    rules: deliveryRules(options.secretNames, options.serviceAccounts ?? ['default']),
    ruleNamespaces: options.namespaces,
    ...(options.listNamespaces ? { clusterRules: namespaceListingRules() } : {}),
  });
  // The inventory rules, in the control namespace.
  await createRestrictedAccount(rigCluster, {
    namespace: controlNamespace,
    name: 'cred-courier',
    rules: INVENTORY_RULES,
  });
  const secretId = `cred-courier/test/${name}`;
  const kubeconfig = options.kubeconfig ? options.kubeconfig(account.kubeconfig) : account.kubeconfig;
  await storeKubeconfig(secretId, kubeconfig);
  return {
    name,
    secretId,
    controlNamespace,
    namespaces: options.namespaces,
    token: account.token,
    kubeconfig,
  };
}

export async function storeKubeconfig(secretId: string, text: string): Promise<void> {
  const sm = new SecretsManagerClient({});
  try {
    await sm.send(new CreateSecretCommand({ Name: secretId, SecretString: text }));
  } catch {
    await sm.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }));
  }
}

export function configOf(yaml: string): Config {
  return parseConfig(yaml, 'test-clusters.yaml');
}

/**
 * The config with every role-session grant's (S3 and AWS) duration replaced: a way to make sessions that
 * are about to expire from a valid config, since validation (rightly) refuses such durations.
 */
export function withSessionDuration(config: Config, durationSeconds: number): Config {
  return {
    ...config,
    clusters: config.clusters.map((c) => ({
      ...c,
      s3: c.s3.map((grant) => ({ ...grant, durationSeconds })),
      ...(c.aws ? { aws: c.aws.map((grant) => ({ ...grant, durationSeconds })) } : {}),
    })),
  };
}

/** The keys of a role-session Secret (S3 and AWS grants): every form a consumer can read, sorted. */
export const SESSION_SECRET_KEYS: readonly string[] = [
  'AWS_ACCESS_KEY_ID',
  'AWS_REGION',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'config',
  'credential-process.json',
  'credentials',
].sort();

/** AWS clients that count the calls made through them (mint, probe, kubeconfig reads). */
export function countingAws(): { aws: AwsClients; calls: AwsCallCounts } {
  const calls: AwsCallCounts = { ecrToken: 0, assumeRole: 0, s3Probe: 0, getSecretValue: 0 };
  return { aws: countingAwsClients(defaultAwsClients(), calls), calls };
}

export interface CapturedRun {
  readonly result: Awaited<ReturnType<typeof runDelivery>>;
  readonly lines: readonly string[];
  readonly requests: readonly { cluster: string; method: string; path: string }[];
  readonly redactor: Redactor;
  readonly calls: AwsCallCounts;
}

/** Runs a delivery with everything captured: log lines, Kubernetes requests, mint calls, secrets seen. */
export async function capturedRun(config: Config, options: Partial<RunOptions> = {}): Promise<CapturedRun> {
  const logger = memoryLogger();
  const redactor = new Redactor();
  const requests: { cluster: string; method: string; path: string }[] = [];
  const { aws, calls } = countingAws();
  const result = await runDelivery({
    config,
    aws,
    kubeconfigs: secretsManagerKubeconfigs(aws.secretsManager(), { ttlSeconds: 0 }),
    logger,
    redactor,
    onKubeRequest: (cluster, method, path) => requests.push({ cluster, method, path }),
    ...options,
  });
  return { result, lines: logger.lines, requests, redactor, calls };
}

/**
 * Lets a registered identity use the inventory in `namespace`: a run has one control namespace, and
 * several registered "clusters" of these tests live on the same rig apiserver.
 */
export async function shareControlNamespace(
  cluster: RigCluster,
  namespace: string,
  registered: RegisteredCluster,
): Promise<void> {
  await ensureNamespace(cluster, namespace);
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}`;
  await ensureObject(cluster, `${rbac}/roles`, {
    metadata: { name: 'cred-courier-inventory' },
    rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      {
        apiGroups: [''],
        resources: ['configmaps'],
        verbs: ['get', 'update'],
        resourceNames: ['cred-courier-inventory'],
      },
    ],
  });
  await ensureObject(cluster, `${rbac}/rolebindings`, {
    metadata: { name: `inventory-${registered.name}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cred-courier-inventory' },
    subjects: [{ kind: 'ServiceAccount', name: 'cred-courier', namespace: registered.controlNamespace }],
  });
}
