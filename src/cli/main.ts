/**
 * The cred-courier command line: thin commands that shape options and call the same core as the
 * Lambda. Errors of the CredCourierError family print their message and exit 2; nothing prints a stack.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultAwsClients } from '../aws/clients.ts';
import { secretsManagerKubeconfigs } from '../aws/kubeconfig-store.ts';
import { dynamoLedger, LEDGER_TABLE_ENV, type LedgerState } from '../aws/ledger.ts';
import { ALARM_TOPIC_ENV, snsNotifier } from '../aws/notifier.ts';
import { loadConfig, loadConfigWithWarnings } from '../config/load.ts';
import { CredCourierError } from '../errors.ts';
import { KIND_IDS, type KindId } from '../kinds/kind.ts';
import { describeFailure } from '../report/classify.ts';
import { previewDelivery } from '../run/preview.ts';
import { recordAndNotify } from '../run/record.ts';
import { runDelivery } from '../run/run.ts';
import type { RunResult } from '../run/types.ts';
import { addCheckCommand } from './commands/check.ts';
import { addRbacCommand } from './commands/rbac.ts';
import { addRegisterCommand } from './commands/register.ts';
import { addStatusCommand } from './commands/status.ts';
import { addUnregisterCommand } from './commands/unregister.ts';
import {
  cliLogger,
  ledgerText,
  ledgerView,
  type OutputFormat,
  previewText,
  progressLine,
  runSummary,
} from './output.ts';

/** Exit codes: 0 everything delivered; 1 some cluster or Secret failed; 2 bad input or usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const DEFAULT_CONFIG = process.env.CRED_COURIER_CONFIG ?? 'config/clusters.yaml';

function parseKinds(value: string): KindId[] {
  const kinds = value.split(',').map((k) => k.trim());
  const unknown = kinds.filter((k) => !(KIND_IDS as readonly string[]).includes(k));
  if (unknown.length > 0)
    throw new InvalidArgumentError(`unknown kind ${unknown.join(', ')} (known: ${KIND_IDS.join(', ')})`);
  return kinds as KindId[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The ledger table named by the environment, the default of `--ledger-table` and `ledger --table`. */
const DEFAULT_LEDGER_TABLE = process.env[LEDGER_TABLE_ENV];

interface CommonOptions {
  readonly config: string;
  readonly cluster?: string[];
  readonly kinds?: KindId[];
  readonly prune: boolean;
  readonly output: OutputFormat;
  readonly verbose?: boolean;
}

function withCommonOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'registration file', DEFAULT_CONFIG)
    .option('--cluster <name>', 'only this cluster (repeatable)', collect)
    .option('--kinds <list>', `credential kinds, comma-separated (${KIND_IDS.join(', ')})`, parseKinds)
    .option('--no-prune', "keep cred-courier's Secrets in namespaces no longer selected")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-v, --verbose', 'log every step on stderr');
}

interface RunCommandOptions extends CommonOptions {
  readonly ledgerTable?: string;
  readonly alarmTopic?: string;
}

/**
 * Records a run in the ledger and notifies the transitions it recorded (this run is then the one that
 * says them: the scheduled runs will not). A ledger that cannot be written, or a message not sent, is
 * reported on stderr; the run's own result and exit code stand.
 */
async function recordInLedger(
  table: string,
  alarmTopic: string | undefined,
  result: RunResult,
  clusters: readonly string[],
): Promise<void> {
  const line = (prefix: string) => (message: string, attributes?: Record<string, unknown>) => {
    const reason = attributes?.reason ? `: ${String(attributes.reason)}` : '';
    const where = attributes?.cluster ? ` ${String(attributes.cluster)}` : '';
    process.stderr.write(`${prefix}ledger ${table}:${where} ${message}${reason}\n`);
  };
  const recorded = await recordAndNotify(result, clusters, {
    ledger: dynamoLedger(table),
    ...(alarmTopic ? { notifier: snsNotifier(alarmTopic) } : {}),
    now: () => new Date(),
    logger: { info: () => {}, warn: line('warning: '), error: line('warning: ') },
  });
  if (!recorded.recorded) return;
  process.stderr.write(
    `ledger ${table}: recorded, ${recorded.targets} targets, ${recorded.notified.length} notifications sent\n`,
  );
  for (const notification of recorded.notNotified) {
    process.stderr.write(
      `warning: not notified (${alarmTopic ? 'publish failed' : `no --alarm-topic or $${ALARM_TOPIC_ENV}`}): ${notification.subject}\n`,
    );
  }
}

/** The ledger's rows; a table that cannot be read (missing, no access) is bad input. */
async function readLedger(table: string): Promise<LedgerState> {
  try {
    return await dynamoLedger(table).readState();
  } catch (error) {
    throw new CredCourierError(`ledger ${table} unreadable: ${describeFailure(error)}`);
  }
}

function print(format: OutputFormat, value: unknown, text: () => string): void {
  process.stdout.write(`${format === 'json' ? JSON.stringify(value, null, 2) : text()}\n`);
}

export function buildProgram(): Command {
  const program = new Command('cred-courier')
    .description(
      'Deliver short-lived AWS credentials (ECR pull secrets) into Kubernetes clusters on any cloud.',
    )
    .showHelpAfterError()
    .exitOverride();

  withCommonOptions(program.command('run'))
    .description(
      'mint credentials and deliver them to every registered cluster (uses the AWS default credential chain)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ cred-courier run\n  $ cred-courier run --cluster gke-prod --kinds ecr -o json',
    )
    .option(
      '--ledger-table <table>',
      `record the run in this DynamoDB delivery ledger (default: $${LEDGER_TABLE_ENV})`,
      DEFAULT_LEDGER_TABLE,
    )
    .option(
      '--alarm-topic <arn>',
      `with --ledger-table: notify the transitions this run records to this SNS topic (default: $${ALARM_TOPIC_ENV})`,
      process.env[ALARM_TOPIC_ENV],
    )
    .action(async (options: RunCommandOptions) => {
      const config = await loadConfig(options.config);
      const aws = defaultAwsClients();
      const result = await runDelivery({
        config,
        ...(options.cluster ? { clusters: options.cluster } : {}),
        ...(options.kinds ? { kinds: options.kinds } : {}),
        prune: options.prune,
        aws,
        kubeconfigs: secretsManagerKubeconfigs(aws.secretsManager(), { ttlSeconds: 0 }),
        logger: cliLogger({ verbose: Boolean(options.verbose) }),
        onClusterDone: (cluster) => process.stderr.write(`${progressLine(cluster)}\n`),
      });
      if (options.ledgerTable) {
        await recordInLedger(
          options.ledgerTable,
          options.alarmTopic,
          result,
          config.clusters.map((c) => c.name),
        );
      }
      print(options.output, result, () => runSummary(result));
      process.exitCode = result.ok ? EXIT.ok : EXIT.failed;
    });

  program
    .command('ledger')
    .description(
      'show the delivery ledger: per target its last success, expiry, time left and failures (reads AWS only, no cluster)',
    )
    .option(
      '--table <table>',
      `the ledger's DynamoDB table (default: $${LEDGER_TABLE_ENV})`,
      DEFAULT_LEDGER_TABLE,
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      '\nExit codes: 0 all targets fresh; 1 a target failed its last delivery or is past its expiry, or a cluster credential expires within 7 days.',
    )
    .action(async (options: { table?: string; output: OutputFormat }) => {
      if (!options.table)
        throw new CredCourierError(`no ledger table: pass --table or set ${LEDGER_TABLE_ENV}`);
      const state = await readLedger(options.table);
      const view = ledgerView(state.targets, new Date(), state.credentials);
      print(options.output, view, () => ledgerText(view));
      process.exitCode = view.ok ? EXIT.ok : EXIT.failed;
    });

  withCommonOptions(program.command('plan'))
    .description('show what a run would create, update, leave alone or prune; writes and mints nothing')
    .action(async (options: CommonOptions) => {
      const config = await loadConfig(options.config);
      const preview = await previewDelivery({
        config,
        ...(options.cluster ? { clusters: options.cluster } : {}),
        ...(options.kinds ? { kinds: options.kinds } : {}),
        prune: options.prune,
        kubeconfigs: secretsManagerKubeconfigs(defaultAwsClients().secretsManager(), { ttlSeconds: 0 }),
      });
      print(options.output, preview, () => previewText(preview));
      process.exitCode = preview.ok ? EXIT.ok : EXIT.failed;
    });

  program
    .command('validate')
    .description('check the registration file and report every problem with its path')
    .option('-c, --config <file>', 'registration file', DEFAULT_CONFIG)
    .action(async (options: { config: string }) => {
      const { config, warnings } = await loadConfigWithWarnings(options.config);
      process.stdout.write(`${options.config}: valid, ${config.clusters.length} cluster(s)\n`);
      for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
    });

  // Registration: rbac, register, check, status, unregister (src/cli/commands/).
  for (const add of [
    addRbacCommand,
    addRegisterCommand,
    addCheckCommand,
    addStatusCommand,
    addUnregisterCommand,
  ]) {
    add(program);
  }

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    const { code } = error as { code?: string };
    // Commander has printed its message; its own exit code (1) would read as "delivery failed".
    if (code?.startsWith('commander.')) {
      return code === 'commander.helpDisplayed' || code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CredCourierError) {
      process.stderr.write(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    // Not ours: still no stack, but say it is unexpected.
    process.stderr.write(`unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
