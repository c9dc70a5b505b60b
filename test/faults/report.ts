/**
 * `docs/reliability.md`, written by the reliability tests from what they just measured. Each test file
 * owns sections; writing one keeps the others (their data lives in a comment at the end of the file),
 * so the document's structure is fixed and every number in it comes from the latest run of its file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../rig/rig.ts';
import type { LeakScanResult } from './leaks.ts';

export const RELIABILITY_DOC = join(PROJECT_ROOT, 'docs/reliability.md');

export interface Table {
  readonly caption?: string;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface Section {
  readonly id: SectionId;
  readonly title: string;
  /** The test file that produces it, relative to the project root. */
  readonly file: string;
  readonly generatedAt: string;
  readonly durationMs: number;
  /** Markdown paragraphs before the tables. */
  readonly intro: readonly string[];
  readonly tables: readonly Table[];
  /** Markdown bullet points after the tables. */
  readonly notes: readonly string[];
  /** The leak scan of the file, on the first of its sections. */
  readonly leaks?: LeakScanResult;
}

/** Sections in the order they appear; a section never run yet says how to produce it. */
export const SECTION_IDS = [
  'fault-matrix',
  'aws-faults',
  'ownership',
  'bad-config',
  'bad-kubeconfig',
] as const;
export type SectionId = (typeof SECTION_IDS)[number];

const SECTION_FILES: Record<SectionId, string> = {
  'fault-matrix': 'test/integration/faults.test.ts',
  'aws-faults': 'test/integration/faults.test.ts',
  ownership: 'test/integration/ownership.test.ts',
  'bad-config': 'test/integration/bad-input.test.ts',
  'bad-kubeconfig': 'test/integration/bad-input.test.ts',
};

const DATA_START = '<!-- reliability-data';
const DATA_END = '-->';

function readSections(): Map<SectionId, Section> {
  const sections = new Map<SectionId, Section>();
  if (!existsSync(RELIABILITY_DOC)) return sections;
  const text = readFileSync(RELIABILITY_DOC, 'utf8');
  const start = text.lastIndexOf(DATA_START);
  if (start < 0) return sections;
  const end = text.indexOf(DATA_END, start);
  try {
    const data = JSON.parse(text.slice(start + DATA_START.length, end)) as Section[];
    for (const section of data) if (SECTION_IDS.includes(section.id)) sections.set(section.id, section);
  } catch {
    // A hand-edited or broken data block: start over with this run's sections.
  }
  return sections;
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function renderTable(table: Table): string[] {
  return [
    ...(table.caption ? [table.caption, ''] : []),
    `| ${table.headers.map(cell).join(' | ')} |`,
    `| ${table.headers.map(() => '---').join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
    '',
  ];
}

function renderSection(id: SectionId, section: Section | undefined): string[] {
  if (!section) {
    return [
      `## ${id}`,
      '',
      `Not produced yet: run \`npx vitest run --project integration ${SECTION_FILES[id]}\`.`,
      '',
    ];
  }
  return [
    `## ${section.title}`,
    '',
    `_From \`${section.file}\`, run at ${section.generatedAt} (${(section.durationMs / 1000).toFixed(1)} s)._`,
    '',
    ...section.intro.flatMap((paragraph) => [paragraph, '']),
    ...section.tables.flatMap(renderTable),
    ...(section.notes.length > 0 ? [...section.notes.map((note) => `- ${note}`), ''] : []),
  ];
}

function renderLeaks(sections: Map<SectionId, Section>): string[] {
  const present = SECTION_IDS.flatMap((id) => {
    const section = sections.get(id);
    return section?.leaks ? [{ ...section, leaks: section.leaks }] : [];
  });
  const total = present.reduce(
    (sum, s) => ({
      sources: sum.sources + s.leaks.sources,
      lines: sum.lines + s.leaks.lines,
      values: sum.values + s.leaks.values,
      hits: sum.hits + s.leaks.hits.length,
    }),
    { sources: 0, lines: 0, values: 0, hits: 0 },
  );
  const hits = present.flatMap((s) => s.leaks.hits.map((hit) => `${s.file}: ${hit}`));
  return [
    '## Leak scan',
    '',
    'Every captured log line, error message, JSON report and CLI stdout/stderr of these tests is searched for ' +
      "every secret value known to the test: each value the run's Redactor registered (minted tokens and keys, " +
      'kubeconfig credentials), every kubeconfig token and private key the tests created, and the credentials ' +
      "read back from Secrets the CLI child processes delivered (minted in another process, so unknown to the test's Redactor). " +
      'Each value is searched as is and base64-encoded.',
    '',
    ...renderTable({
      headers: ['test file', 'texts scanned', 'lines', 'secret values', 'hits'],
      rows: [
        ...present.map((s) => [
          `\`${s.file}\``,
          String(s.leaks.sources),
          String(s.leaks.lines),
          String(s.leaks.values),
          String(s.leaks.hits.length),
        ]),
        ['**total**', String(total.sources), String(total.lines), String(total.values), `**${total.hits}**`],
      ],
    }),
    ...(hits.length > 0 ? ['Hits:', '', ...hits.map((hit) => `- ${hit}`), ''] : []),
  ];
}

function render(sections: Map<SectionId, Section>): string {
  const files = [...new Set(Object.values(SECTION_FILES))];
  return [
    '# Reliability under faults and bad input',
    '',
    'This file is written by the test suite from real runs on the local control plane (two kube-apiservers with ' +
      'TLS and RBAC, moto as AWS) with faults injected by a proxy (`test/faults/`). Do not edit it by hand: ' +
      'each test file below rewrites its own sections when it runs, and keeps the others.',
    '',
    '## How to rerun',
    '',
    '```sh',
    ...files.map((file) => `npx vitest run --project integration ${file}`),
    '```',
    '',
    'The first integration run builds the control plane binaries (minutes); later runs start it in seconds.',
    '',
    ...SECTION_IDS.flatMap((id) => renderSection(id, sections.get(id))),
    ...renderLeaks(sections),
    DATA_START,
    JSON.stringify(
      SECTION_IDS.flatMap((id) => {
        const section = sections.get(id);
        return section ? [section] : [];
      }),
      null,
      1,
    ).replaceAll('-->', '-\\u002d>'),
    DATA_END,
    '',
  ].join('\n');
}

/** Replaces the given sections in docs/reliability.md, keeping the others, and rewrites the whole file. */
export function writeSections(...updates: readonly Omit<Section, 'file'>[]): void {
  const sections = readSections();
  for (const update of updates) sections.set(update.id, { ...update, file: SECTION_FILES[update.id] });
  writeFileSync(RELIABILITY_DOC, render(sections));
}
