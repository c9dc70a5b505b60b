import { describe, expect, it } from 'vitest';
import { memoryLogger, redacting, structuredRunLogger } from '../../../src/report/logger.ts';
import { REDACTED, Redactor } from '../../../src/report/redact.ts';

/** A PEM-shaped block built at run time, so no file holds one (they are fakes, never real keys). */
function pemBlock(label: string, body: string): string {
  const dashes = '-'.repeat(5);
  return `${dashes}BEGIN ${label}${dashes}\n${body}\n${dashes}END ${label}${dashes}\n`;
}

const TOKEN = 'kube-token-0123456789abcdef';
const PASSWORD = 'ecr-password-fedcba9876543210';
const b64 = (text: string) => Buffer.from(text).toString('base64');

function setup() {
  const redactor = new Redactor();
  redactor.add(TOKEN, PASSWORD);
  const memory = memoryLogger();
  return { memory, logger: redacting(memory, redactor) };
}

describe('Function: redacting', () => {
  it.each(['info', 'warn', 'error'] as const)('keeps registered values out of %s messages', (level) => {
    // Prepare
    const { memory, logger } = setup();

    // Act
    logger[level](`sent ${TOKEN} and ${PASSWORD}`);

    // Assess
    expect(memory.lines).toHaveLength(1);
    const line = JSON.parse(memory.lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toEqual({ level, message: `sent ${REDACTED} and ${REDACTED}` });
  });

  it.each(['info', 'warn', 'error'] as const)('keeps registered values out of %s attributes', (level) => {
    // Prepare
    const { memory, logger } = setup();

    // Act
    logger[level]('delivered', {
      cluster: 'gke-prod',
      header: `Bearer ${TOKEN}`,
      nested: { list: [PASSWORD, b64(PASSWORD)], dockerAuth: b64(TOKEN) },
    });

    // Assess
    const line = JSON.parse(memory.lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toEqual({
      level,
      message: 'delivered',
      cluster: 'gke-prod',
      header: `Bearer ${REDACTED}`,
      nested: { list: [REDACTED, REDACTED], dockerAuth: REDACTED },
    });
  });

  it('never lets a registered value or its base64 form through any line', () => {
    // Prepare
    const { memory, logger } = setup();

    // Act
    logger.info(`token ${TOKEN}`, { password: PASSWORD });
    logger.warn(`base64 ${b64(PASSWORD)}`, { deep: { deeper: [{ token: b64(TOKEN) }] } });
    logger.error('failed', { message: `Authorization: Bearer ${TOKEN}` });

    // Assess
    const all = memory.lines.join('\n');
    expect(memory.lines).toHaveLength(3);
    for (const value of [TOKEN, PASSWORD, b64(TOKEN), b64(PASSWORD)]) expect(all).not.toContain(value);
  });

  // Regression (fixed): Redactor.scrubValue (src/report/redact.ts) looks for registered values in the JSON text of the
  // attributes, where a newline is written `\n`; a registered multi-line value such as the client key PEM
  // parseKubeconfig lists in `secrets` is never matched there, so it reaches the log intact.
  it('never lets a registered multi-line PEM key through attributes', () => {
    // Prepare
    const pem = pemBlock('EC PRIVATE KEY', 'MHcCAQEEIFAKEKEYMATERIAL0123');
    const redactor = new Redactor();
    redactor.add(pem);
    const memory = memoryLogger();
    const logger = redacting(memory, redactor);

    // Act
    logger.error('kubeconfig rejected', { user: { 'client-key': pem } });

    // Assess
    expect(memory.lines.join('\n')).not.toContain('MHcCAQEEIFAKEKEYMATERIAL0123');
  });

  it('passes a line without attributes on without attributes', () => {
    // Prepare
    const { memory, logger } = setup();

    // Act
    logger.info('plain');

    // Assess
    expect(memory.lines).toEqual([JSON.stringify({ level: 'info', message: 'plain' })]);
  });
});

describe('Function: memoryLogger', () => {
  it('keeps each line as JSON with its level, message and attributes', () => {
    // Prepare
    const memory = memoryLogger();

    // Act
    memory.info('one', { a: 1 });
    memory.error('two');

    // Assess
    expect(memory.lines.map((line) => JSON.parse(line))).toEqual([
      { level: 'info', message: 'one', a: 1 },
      { level: 'error', message: 'two' },
    ]);
  });
});

describe('Function: structuredRunLogger', () => {
  it('forwards message and attributes to the level of the structured logger', () => {
    // Prepare
    const calls: [string, string, unknown[]][] = [];
    const record =
      (level: string) =>
      (message: string, ...extra: Record<string, unknown>[]) =>
        calls.push([level, message, extra]);
    const logger = structuredRunLogger({
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    });

    // Act
    logger.warn('careful', { cluster: 'gke-prod' });
    logger.info('plain');

    // Assess
    expect(calls).toEqual([
      ['warn', 'careful', [{ cluster: 'gke-prod' }]],
      ['info', 'plain', []],
    ]);
  });
});
