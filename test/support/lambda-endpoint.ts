/**
 * A stand-in for the Lambda service's Invoke API (POST /2015-03-31/functions/{name}/invocations) on a
 * local port: moto runs Lambda code only in Docker, which the test machines do not have. `answer`
 * decides the reply for the event; in the rig's tests it calls the real handler in-process, and it can
 * also give the answers of a Lambda fault (function not found, access denied, a function error).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';

export interface LambdaReply {
  readonly status?: number;
  /** Response headers, e.g. `x-amz-function-error: Unhandled` or `x-amzn-errortype` for a service error. */
  readonly headers?: Record<string, string>;
  readonly body: unknown;
}

export interface LambdaEndpoint {
  readonly url: string;
  /** Every invocation received: the function name from the path and the event. */
  readonly invocations: { functionName: string; event: unknown }[];
  close(): Promise<void>;
}

export async function startLambdaEndpoint(
  answer: (functionName: string, event: unknown) => Promise<LambdaReply> | LambdaReply,
): Promise<LambdaEndpoint> {
  const invocations: { functionName: string; event: unknown }[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(request.url?.split('?')[0] ?? '');
      if (request.method !== 'POST' || !match?.[1]) {
        response.writeHead(400).end('{"message":"not the Invoke API"}');
        return;
      }
      const functionName = decodeURIComponent(match[1]);
      const text = Buffer.concat(chunks).toString('utf8');
      const event = text ? (JSON.parse(text) as unknown) : undefined;
      invocations.push({ functionName, event });
      try {
        const reply = await answer(functionName, event);
        response
          .writeHead(reply.status ?? 200, {
            'content-type': 'application/json',
            'x-amz-executed-version': '$LATEST',
            ...reply.headers,
          })
          .end(JSON.stringify(reply.body));
      } catch (error) {
        response.writeHead(500).end(JSON.stringify({ message: String(error) }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    invocations,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The reply of the Lambda runtime when the handler throws: a 200 with the error as the payload. */
export function functionErrorReply(error: unknown): LambdaReply {
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    headers: { 'x-amz-function-error': 'Unhandled' },
    body: { errorType: e.name, errorMessage: e.message, trace: [] },
  };
}

/** The context of a handler invoked in-process as `functionName`, with a minute left to run. */
export function lambdaContext(functionName: string): Context {
  return {
    getRemainingTimeInMillis: () => 60_000,
    functionName,
    awsRequestId: 'in-process',
  } as unknown as Context;
}

/**
 * The Invoke API of the one function `functionName`, whose invocations run `handler` in-process (what
 * it throws comes back as the runtime's function error); any other name is not found, as Lambda says.
 */
export function startFunctionEndpoint(
  functionName: string,
  handler: (event: unknown, context: Context) => Promise<unknown>,
): Promise<LambdaEndpoint> {
  const context = lambdaContext(functionName);
  return startLambdaEndpoint(async (name, event) => {
    if (name !== functionName)
      return {
        status: 404,
        headers: { 'x-amzn-errortype': 'ResourceNotFoundException' },
        body: { Type: 'User', Message: `Function not found: ${name}` },
      };
    try {
      return { body: await handler(event, context) };
    } catch (error) {
      return functionErrorReply(error);
    }
  });
}
