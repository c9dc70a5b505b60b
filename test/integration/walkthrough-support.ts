/**
 * The README's marked command blocks, as a bash script. A fenced block whose info string is
 * `sh <flow>` runs as written; `sh <flow>-vars` sets variables (the test's own values replace the
 * README's for the names it gives); `sh <flow>-instead: CMD` runs CMD in its place, for what the local
 * stack cannot do (deploy, invoke, clone); `sh <flow>-skip: REASON` is not run. A `text <flow>-prints`
 * block right after one shows what it prints; the test holds the real output to it (see printedButMissing).
 */
import { execFile } from 'node:child_process';

export interface MarkedBlock {
  readonly mode: 'run' | 'vars' | 'instead' | 'skip';
  /** The command of `-instead:`, the reason of `-skip:`, '' otherwise. */
  readonly detail: string;
  readonly text: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
  /** The `text <flow>-prints` block that follows it, if any. */
  readonly prints?: string;
}

/** The blocks of one flow (`walkthrough`, `fleet`), in document order. */
export function markedBlocks(markdown: string, flow: string): MarkedBlock[] {
  const lines = markdown.split('\n');
  const opening = new RegExp(`^\`\`\`sh ${flow}(?:-(vars|instead|skip)(?::\\s*(.*))?)?\\s*$`);
  const printed = new RegExp(`^\`\`\`text ${flow}-prints\\s*$`);
  const blocks: MarkedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const isPrinted = printed.test(lines[i] ?? '');
    const match = opening.exec(lines[i] ?? '');
    if (!match && !isPrinted) continue;
    const end = lines.findIndex((line, j) => j > i && line === '```');
    if (end < 0) throw new Error(`README line ${i + 1}: the ${flow} block is never closed`);
    if (isPrinted) {
      const last = blocks.pop();
      if (!last || last.prints !== undefined) {
        throw new Error(`README line ${i + 1}: a ${flow}-prints block follows no ${flow} command block`);
      }
      blocks.push({ ...last, prints: lines.slice(i + 1, end).join('\n') });
      i = end;
      continue;
    }
    const mode = (match?.[1] ?? 'run') as MarkedBlock['mode'];
    const detail = (match?.[2] ?? '').trim();
    if ((mode === 'instead' || mode === 'skip') && detail === '') {
      throw new Error(`README line ${i + 1}: \`sh ${flow}-${mode}:\` needs what it does instead, or why`);
    }
    blocks.push({ mode, detail, text: lines.slice(i + 1, end).join('\n'), line: i + 1 });
    i = end;
  }
  return blocks;
}

const STEP = '::walkthrough-step::';

/** A line with what differs from run to run (times, numbers, URLs, file paths) made alike. */
function shape(text: string): string {
  return text
    .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, '<time>')
    .replace(/https:\/\/\S+/g, '<url>')
    .replace(/\S*clusters\.yaml/g, '<file>')
    .replace(/\d+(\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The lines of a `-prints` block that the real output does not have, in that order. Times, numbers,
 * URLs and paths may differ, and `…` stands for anything; empty lines are not compared.
 */
export function printedButMissing(output: string, prints: string): string[] {
  const actual = output.split('\n').map(shape);
  const missing: string[] = [];
  let from = 0;
  for (const line of prints.split('\n')) {
    if (line.trim() === '') continue;
    const pattern = new RegExp(`^${line.split('…').map(shape).map(escapeRegExp).join('.*')}$`);
    const at = actual.findIndex((candidate, index) => index >= from && pattern.test(candidate));
    if (at < 0) missing.push(line);
    else from = at + 1;
  }
  return missing;
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * `export NAME=value` lines of a vars block with the given names' values replaced. Throws when one of
 * them is not assigned there: the README and the test must agree on what a reader sets.
 */
export function withValues(block: MarkedBlock, values: Readonly<Record<string, string>>): string {
  const seen = new Set<string>();
  const text = block.text
    .split('\n')
    .map((line) => {
      const match = /^export ([A-Z_][A-Z0-9_]*)=/.exec(line);
      const name = match?.[1];
      if (name === undefined || !(name in values)) return line;
      seen.add(name);
      return `export ${name}=${shellQuote(values[name] ?? '')}`;
    })
    .join('\n');
  const missing = Object.keys(values).filter((name) => !seen.has(name));
  if (missing.length > 0) {
    throw new Error(`README line ${block.line}: the variables block no longer sets ${missing.join(', ')}`);
  }
  return text;
}

export interface StepResult {
  readonly block: MarkedBlock;
  /** What the step printed, stdout and stderr together; undefined when it was skipped or never reached. */
  readonly output: string | undefined;
}

export interface FlowResult {
  readonly code: number;
  readonly steps: readonly StepResult[];
  /** Everything, for a failure message. */
  readonly transcript: string;
}

/** Runs the blocks in order in one bash (so `cd` and variables carry over), stopping at the first failure. */
export function runFlow(
  blocks: readonly MarkedBlock[],
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly values: Record<string, string> },
): Promise<FlowResult> {
  const script = ['set -euo pipefail'];
  blocks.forEach((block, index) => {
    if (block.mode === 'skip') return;
    const body =
      block.mode === 'instead'
        ? block.detail
        : block.mode === 'vars'
          ? withValues(block, options.values)
          : block.text;
    script.push(`echo '${STEP}${index}'`, '{', body, '} 2>&1');
  });
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', script.join('\n')],
      { cwd: options.cwd, env: options.env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const outputs = new Map<number, string>();
        for (const part of stdout.split(STEP).slice(1)) {
          const newline = part.indexOf('\n');
          outputs.set(Number(part.slice(0, newline)), part.slice(newline + 1));
        }
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({
          code,
          steps: blocks.map((block, index) => ({ block, output: outputs.get(index) })),
          transcript: `${stdout}${stderr}`,
        });
      },
    );
  });
}

/** The output of the first step whose text contains `command` (throws when no step ran it). */
export function outputOf(result: FlowResult, command: string): string {
  const step = result.steps.find((s) =>
    (s.block.mode === 'instead' ? s.block.detail : s.block.text).includes(command),
  );
  if (step?.output === undefined) {
    throw new Error(`no step that ran \`${command}\`:\n${result.transcript}`);
  }
  return step.output;
}
