/**
 * Invokes the deployed function synchronously and returns its payload, for `check --remote`. Every way
 * the call can fail (no such function, no permission, no region or credentials, the function's own
 * error, a payload over Lambda's limit, a timeout) becomes a UsageError (exit 2: nothing was checked) saying what to do. The
 * client honours `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_LAMBDA`) like every other client.
 */
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { UsageError } from '../errors.ts';

export interface LambdaApi {
  send(command: InvokeCommand): Promise<InvokeCommandOutput>;
}

/** The framework's name of the delivery function of a stage (service cred-courier, function distribute). */
export const functionNameOf = (stage: string) => `cred-courier-${stage}-distribute`;

export interface InvokeOptions {
  readonly functionName: string;
  readonly event: unknown;
  readonly region?: string;
  readonly profile?: string;
  /** Injected in tests; by default a client from the SDK's default chain. */
  readonly client?: LambdaApi;
}

/** What the operator needs to call the function, named in the denial's message. */
const INVOKE_PERMISSION = 'lambda:InvokeFunction';

/**
 * The least policy that lets an operator run `check --remote` against one function: invoke it, on its
 * unqualified ARN (the CLI never names a version or alias), and nothing else.
 */
export function remoteCheckPolicy(functionArn: string): {
  Version: '2012-10-17';
  Statement: { Effect: 'Allow'; Action: string; Resource: string }[];
} {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: INVOKE_PERMISSION, Resource: functionArn }],
  };
}

export async function invokeFunction(options: InvokeOptions): Promise<unknown> {
  const { functionName } = options;
  const client =
    options.client ??
    new LambdaClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.profile ? { profile: options.profile } : {}),
    });
  let output: InvokeCommandOutput;
  try {
    output = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(options.event)),
      }),
    );
  } catch (error) {
    throw new UsageError(`invoking ${functionName}: ${callFailure(error)}`, {
      cause: error,
    });
  }
  const text = new TextDecoder().decode(output.Payload ?? new Uint8Array());
  if (output.FunctionError) {
    throw new UsageError(`${functionName} failed: ${functionFailure(text, functionName)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(
      `${functionName} answered with a payload that is not JSON (${text.length} bytes): deploy the stage again so the function is cred-courier's`,
    );
  }
}

/** Why the Invoke call itself failed, and what to do. */
function callFailure(error: unknown): string {
  const name = (error as { name?: unknown }).name;
  const message = error instanceof Error ? error.message : String(error);
  switch (name) {
    case 'ResourceNotFoundException':
      return `no such function in this account and region (${message}): deploy the stage (npm run deploy -- --stage <stage>), or name the right one with --stage or --function, and the region with AWS_REGION`;
    case 'AccessDeniedException':
    case 'AccessDenied':
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
      return `not allowed (${message}): your identity needs ${INVOKE_PERMISSION} on the function, e.g. the statement ${JSON.stringify(remoteCheckPolicy(deniedArn(message) ?? 'arn:aws:lambda:<region>:<account>:function:<name>').Statement[0])}; check AWS_PROFILE or the credentials in use`;
    case 'RequestTooLargeException':
      return `the event is larger than Lambda accepts (${message}): name fewer clusters`;
    case 'TooManyRequestsException':
      return `throttled by Lambda (${message}): try again in a moment`;
    case 'CredentialsProviderError':
      return `no AWS credentials (${message}): set AWS_PROFILE or the standard AWS credential variables`;
    default:
      if (/region is missing/i.test(message))
        return "no AWS region: set AWS_REGION to the stage's region (serverless.yml deploys to eu-west-1 unless --region was given)";
      return `${typeof name === 'string' ? `${name}: ` : ''}${message}`;
  }
}

/** The function's ARN as an IAM denial names it ("... on resource: arn:aws:lambda:...:function:x ..."). */
function deniedArn(message: string): string | undefined {
  return /arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+/.exec(message)?.[0];
}

/** The function's own error payload (`errorType`, `errorMessage`), and what to do about it. */
function functionFailure(text: string, functionName: string): string {
  let errorType = 'unknown';
  let errorMessage = text;
  try {
    const payload = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    if (typeof payload.errorType === 'string') errorType = payload.errorType;
    if (typeof payload.errorMessage === 'string') errorMessage = payload.errorMessage;
  } catch {
    // Not JSON: shown as it came.
  }
  const logs = `see its log group /aws/lambda/${functionName}`;
  if (errorType === 'Function.ResponseSizeTooLarge')
    return `its answer is larger than Lambda's 6 MB response limit (${errorMessage}): name fewer clusters per call`;
  if (errorType === 'Sandbox.Timedout' || /timed out/i.test(errorMessage))
    return `it timed out (${errorMessage}): name fewer clusters per call, or see settings.clusterDeadlineSeconds; ${logs}`;
  return `${errorType}: ${errorMessage} (${logs})`;
}
