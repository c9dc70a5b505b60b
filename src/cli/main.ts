/**
 * The cred-courier command line: thin commands that shape options and call the same core as the
 * Lambda. Bad usage or setup (UsageError) prints its message and exits 2; a step that was tried and
 * failed prints its class, message and what to do, and exits 1; nothing prints a stack.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Command, InvalidArgumentError } from 'commander';
import { clientSettings, defaultAwsClients } from '../aws/clients.ts';
import { dynamoLedger, LEDGER_TABLE_ENV, type LedgerState } from '../aws/ledger.ts';
import { ALARM_TOPIC_ENV, snsNotifier } from '../aws/notifier.ts';
import { awsNeedsOf } from '../aws/preflight.ts';
import { loadConfig, loadConfigWithWarnings } from '../config/load.ts';
import { CredCourierError, UsageError } from '../errors.ts';
import { KIND_IDS, type KindId } from '../kinds/kind.ts';
import { selectClusters } from '../register/select.ts';
import { classify, describeFailure } from '../report/classify.ts';
import { previewDelivery } from '../run/preview.ts';
import { recordAndNotify } from '../run/record.ts';
import { runDelivery } from '../run/run.ts';
import type { RunResult } from '../run/types.ts';
import { addCheckCommand } from './commands/check.ts';
import {
  type AwsOptions,
  awsTarget,
  collect,
  DEFAULT_CONFIG,
  EXIT,
  EXIT_CODES_HELP,
  outputOption,
  preflight,
  print,
  storedKubeconfigs,
  withAwsOptions,
} from './commands/common.ts';
import { addRbacCommand } from './commands/rbac.ts';
import { addRegisterCommand } from './commands/register.ts';
import { addStatusCommand } from './commands/status.ts';
import { addUnregisterCommand } from './commands/unregister.ts';
import {
  adviceLine,
  cliLogger,
  ledgerText,
  ledgerView,
  type OutputFormat,
  previewText,
  progressLine,
  runSummary,
} from './output.ts';

export { EXIT } from './commands/common.ts';

/** The package's version, for `--version`. */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

function parseKinds(value: string): KindId[] {
  const kinds = value.split(',').map((k) => k.trim());
  const unknown = kinds.filter((k) => !(KIND_IDS as readonly string[]).includes(k));
  if (unknown.length > 0)
    throw new InvalidArgumentError(`unknown kind ${unknown.join(', ')} (known: ${KIND_IDS.join(', ')})`);
  return kinds as KindId[];
}

/** The ledger table named by the environment, the default of `--ledger-table` and `ledger --table`. */
const DEFAULT_LEDGER_TABLE = process.env[LEDGER_TABLE_ENV];

interface CommonOptions extends AwsOptions {
  readonly config: string;
  readonly cluster?: string[];
  readonly kinds?: KindId[];
  readonly prune: boolean;
  readonly output: OutputFormat;
  readonly verbose?: boolean;
}

function withCommonOptions(command: Command): Command {
  return withAwsOptions(
    command
      .option('-c, --config <file>', 'registration file', DEFAULT_CONFIG)
      .option('--cluster <name>', 'only this cluster (repeatable)', collect)
      .option('--kinds <list>', `credential kinds, comma-separated (${KIND_IDS.join(', ')})`, parseKinds)
      .option('--no-prune', "keep cred-courier's Secrets in namespaces no longer selected")
      .addOption(outputOption())
      .option('-v, --verbose', 'also log every step on stderr (adds to the normal output)'),
  ).addHelpText('after', EXIT_CODES_HELP);
}

interface RunCommandOptions extends CommonOptions {
  readonly ledgerTable?: string;
  readonly alarmTopic?: string;
  readonly dryRun: boolean;
}

/** The ledger's DynamoDB client, in `--region`/`--profile` when given. */
function ledgerClient(options: AwsOptions): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(clientSettings(awsTarget(options))), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** `plan`, and `run --dry-run`: what a run would do, after the one AWS setup check. */
async function planCommand(options: CommonOptions): Promise<void> {
  const config = await loadConfig(options.config);
  await preflight(options, awsNeedsOf(selectClusters(config, options.cluster)));
  const preview = await previewDelivery({
    config,
    ...(options.cluster ? { clusters: options.cluster } : {}),
    ...(options.kinds ? { kinds: options.kinds } : {}),
    prune: options.prune,
    kubeconfigs: storedKubeconfigs(options),
  });
  print(options.output, preview, () => previewText(preview));
  process.exitCode = preview.ok ? EXIT.ok : EXIT.failed;
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
  aws: AwsOptions,
): Promise<void> {
  const line = (prefix: string) => (message: string, attributes?: Record<string, unknown>) => {
    const reason = attributes?.reason ? `: ${String(attributes.reason)}` : '';
    const where = attributes?.cluster ? ` ${String(attributes.cluster)}` : '';
    process.stderr.write(`${prefix}ledger ${table}:${where} ${message}${reason}\n`);
  };
  const recorded = await recordAndNotify(result, clusters, {
    ledger: dynamoLedger(table, ledgerClient(aws)),
    ...(alarmTopic
      ? {
          notifier: snsNotifier(
            alarmTopic,
            new SNSClient(clientSettings(awsTarget(aws), topicRegion(alarmTopic))),
          ),
        }
      : {}),
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

/** An SNS topic ARN's region: a topic is published to in its own region. */
function topicRegion(topicArn: string): string | undefined {
  return /^arn:aws[a-z-]*:sns:([a-z0-9-]+):/.exec(topicArn)?.[1];
}

/** The ledger's rows; a table that cannot be read (missing, no access) is bad setup (exit 2). */
async function readLedger(table: string, aws: AwsOptions): Promise<LedgerState> {
  try {
    return await dynamoLedger(table, ledgerClient(aws)).readState();
  } catch (error) {
    throw new UsageError(`ledger ${table} unreadable: ${describeFailure(error)}`, { cause: error });
  }
}

/** The clusters of the registration file given with `-c`, to mark ledger rows of clusters no longer in it. */
async function registeredClusters(file: string): Promise<readonly string[]> {
  return (await loadConfig(file)).clusters.map((c) => c.name);
}

export const PROGRAM_DESCRIPTION =
  'Deliver short-lived AWS credentials into Kubernetes clusters on any cloud: ECR image pull secrets, ' +
  'scoped S3 sessions, and role sessions for other AWS services, minted by an AWS Lambda and pushed as ' +
  'Kubernetes Secrets.';

export function buildProgram(): Command {
  const program = new Command('cred-courier')
    .description(PROGRAM_DESCRIPTION)
    .version(packageVersion(), '-V, --version', 'print the version')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError()
    .exitOverride();

  withCommonOptions(program.command('run'))
    .description(
      'mint credentials and deliver them to every registered cluster (uses the AWS default credential chain)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ cred-courier run\n  $ cred-courier run --cluster gke-prod --kinds ecr -o json\n  $ cred-courier run --dry-run',
    )
    .option('--dry-run', 'show what the run would do (as `plan`); mint and write nothing', false)
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
      if (options.dryRun) return planCommand(options);
      const config = await loadConfig(options.config);
      if (options.ledgerTable) await preflight(options, { defaultRegion: true });
      const aws = defaultAwsClients(awsTarget(options));
      const result = await runDelivery({
        config,
        ...(options.cluster ? { clusters: options.cluster } : {}),
        ...(options.kinds ? { kinds: options.kinds } : {}),
        prune: options.prune,
        aws,
        kubeconfigs: storedKubeconfigs(options),
        logger: cliLogger({ verbose: Boolean(options.verbose) }),
        onClusterDone: (cluster) => process.stderr.write(`${progressLine(cluster)}\n`),
      });
      if (options.ledgerTable) {
        await recordInLedger(
          options.ledgerTable,
          options.alarmTopic,
          result,
          config.clusters.map((c) => c.name),
          options,
        );
      }
      print(options.output, result, () => runSummary(result));
      process.exitCode = result.ok ? EXIT.ok : EXIT.failed;
    });

  withAwsOptions(
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
      .option(
        '-c, --config <file>',
        'registration file: when given, rows of clusters no longer in it are marked (the ledger itself reads only the table)',
        DEFAULT_CONFIG,
      )
      .addOption(outputOption())
      .option('--dry-run', 'accepted for symmetry: ledger only reads', false),
  )
    .addHelpText(
      'after',
      `${EXIT_CODES_HELP}\n  (for ledger, 1: a target failed its last delivery or is past its expiry, or a cluster credential expires within 7 days)`,
    )
    .action(
      async (
        options: AwsOptions & { table?: string; config: string; output: OutputFormat },
        command: Command,
      ) => {
        if (!options.table) throw new UsageError(`no ledger table: pass --table or set ${LEDGER_TABLE_ENV}`);
        // Only a file named with -c: the default one may be another fleet's sample.
        const clusters =
          command.getOptionValueSource('config') === 'default'
            ? undefined
            : await registeredClusters(options.config);
        await preflight(options, { defaultRegion: true });
        const state = await readLedger(options.table, options);
        const view = ledgerView(state.targets, new Date(), state.credentials);
        print(options.output, view, () => ledgerText(view, clusters && { file: options.config, clusters }));
        process.exitCode = view.ok ? EXIT.ok : EXIT.failed;
      },
    );

  withCommonOptions(program.command('plan'))
    .description('show what a run would create, update, leave alone or prune; writes and mints nothing')
    .option('--dry-run', 'accepted for symmetry: plan never writes or mints', false)
    .action(planCommand);

  program
    .command('validate')
    .description('check the registration file and report every problem with its path')
    .option('-c, --config <file>', 'registration file', DEFAULT_CONFIG)
    .addOption(outputOption())
    .option('--dry-run', 'accepted for symmetry: validate only reads the file', false)
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (options: { config: string; output: OutputFormat }) => {
      const { config, warnings } = await loadConfigWithWarnings(options.config);
      const result = {
        file: options.config,
        valid: true,
        clusters: config.clusters.map((c) => c.name),
        warnings,
      };
      print(options.output, result, () => `${options.config}: valid, ${config.clusters.length} cluster(s)`);
      // Text keeps stdout to the verdict; JSON and YAML carry the warnings in the result.
      if (options.output === 'text')
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
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    // A step that was tried and failed: its class, its cause kept, and what to do.
    const failureClass = classify(error);
    const own = error instanceof CredCourierError;
    process.stderr.write(
      `${own ? 'error' : 'unexpected error'}: ${failureClass}: ${own ? error.message : describeFailure(error)}\n${adviceLine(failureClass, '  ')}\n`,
    );
    return EXIT.failed;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
