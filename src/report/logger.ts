/**
 * The logger the core writes to. Powertools' Logger fits it in the Lambda; the CLI passes its own.
 * `redacting` wraps any of them so nothing registered with the Redactor leaves the process.
 */
import type { Redactor } from './redact.ts';

export type LogAttributes = Record<string, unknown>;

export interface RunLogger {
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
}

export function redacting(logger: RunLogger, redactor: Redactor): RunLogger {
  const wrap =
    (level: keyof RunLogger) =>
    (message: string, attributes?: LogAttributes): void => {
      const scrubbed = redactor.scrub(message);
      if (attributes === undefined) logger[level](scrubbed);
      else logger[level](scrubbed, redactor.scrubValue(attributes));
    };
  return { info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}

/** A logger that keeps every line, for tests and for the leak scan. */
export function memoryLogger(): RunLogger & { readonly lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string, attributes?: LogAttributes) => {
    lines.push(JSON.stringify({ level, message, ...attributes }));
  };
  return { lines, info: keep('info'), warn: keep('warn'), error: keep('error') };
}

/** The subset of Powertools' Logger the adapter needs. */
interface StructuredLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Writes the core's lines through Powertools' Logger: one JSON object per line, attributes merged in. */
export function structuredRunLogger(logger: StructuredLogger): RunLogger {
  const forward = (level: keyof RunLogger) => (message: string, attributes?: LogAttributes) => {
    if (attributes) logger[level](message, attributes);
    else logger[level](message);
  };
  return { info: forward('info'), warn: forward('warn'), error: forward('error') };
}
