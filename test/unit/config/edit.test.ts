import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { clusterFields, removeCluster, upsertCluster } from '../../../src/config/edit.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/errors.ts';

/** A file in several styles, with comments everywhere an operator puts them. */
const FILE = `# yaml-language-server: $schema=./clusters.schema.json
# Registration file: comments, quoting and styles must survive edits.

settings:
  controlNamespace: cred-courier # the default

defaults:
  ecr:
    secretName: ecr-pull
    registries: [{ accountId: "111122223333", region: eu-west-1 }]

clusters:
  # First: flow style, a trailing comment.
  - name: alpha
    kubeconfigSecret: 'cred-courier/clusters/alpha'   # single-quoted on purpose
    namespaces: {names: [app, "team-*"], exclude: ["*-sandbox"]}

  # Second: block style, comments inside.
  - name: beta
    kubeconfigSecret: cred-courier/clusters/beta
    namespaces:
      # exact names only
      names:
        - web
        - api
    ecr:
      serviceAccounts: [default, builder]   # two accounts

  # Third: the last one.
  - name: gamma
    kubeconfigSecret: arn:aws:secretsmanager:eu-west-1:111122223333:secret:gamma-AbCdEf
    namespaces: { selector: "env=prod" }
`;

/** The text of entry `name` (from its dash line to the next entry's comment, or the end). */
function entryText(text: string, name: string): string {
  const start = text.indexOf(`  - name: ${name}\n`);
  const next = text.indexOf('\n\n', start);
  return text.slice(start, next === -1 ? undefined : next + 1);
}

describe('upsertCluster', () => {
  it('appends a new entry after the last one, in block style with a blank line, leaving every other byte', () => {
    // Act
    const result = upsertCluster(FILE, 'delta', {
      kubeconfigSecret: 'cred-courier/clusters/delta',
      namespaces: { names: ['app', 'web'] },
    });

    // Assess
    expect(result.action).toBe('added');
    expect(result.text).toBe(
      `${FILE}\n  - name: delta\n    kubeconfigSecret: cred-courier/clusters/delta\n    namespaces:\n      names: [app, web]\n`,
    );
    expect(parseConfig(result.text, 'f').clusters.map((c) => c.name)).toEqual([
      'alpha',
      'beta',
      'gamma',
      'delta',
    ]);
  });

  it('changes only the keys asked for, in place, and keeps every other entry and comment byte-identical', () => {
    // Act
    const result = upsertCluster(FILE, 'beta', {
      kubeconfigSecret: 'cred-courier/clusters/beta-2',
      namespaces: { names: ['web'] },
      adoptExistingSecrets: true,
    });

    // Assess
    expect(result.action).toBe('updated');
    expect(entryText(result.text, 'beta')).toBe(`  - name: beta
    kubeconfigSecret: cred-courier/clusters/beta-2
    namespaces: {names: [web]}
    ecr:
      serviceAccounts: [default, builder]   # two accounts
    adoptExistingSecrets: true
`);
    const outside = (text: string) => text.replace(entryText(text, 'beta'), '');
    expect(outside(result.text)).toBe(outside(FILE));
  });

  it('keeps a scalar’s trailing comment and the other keys of a flow entry when one value changes', () => {
    const result = upsertCluster(FILE, 'alpha', { kubeconfigSecret: 'other/alpha' });
    expect(entryText(result.text, 'alpha')).toBe(`  - name: alpha
    kubeconfigSecret: other/alpha   # single-quoted on purpose
    namespaces: {names: [app, "team-*"], exclude: ["*-sandbox"]}
`);
  });

  it('leaves the text untouched when the entry already says what is asked (idempotent)', () => {
    const result = upsertCluster(FILE, 'alpha', {
      kubeconfigSecret: 'cred-courier/clusters/alpha',
      namespaces: { names: ['app', 'team-*'], exclude: ['*-sandbox'] },
    });
    expect(result).toMatchObject({ text: FILE, action: 'unchanged' });
  });

  it('creates a file from nothing, and fills an empty clusters list', () => {
    const created = upsertCluster('', 'x', { kubeconfigSecret: 'k/x', namespaces: { names: ['a'] } });
    expect(parseConfig(created.text, 'f').clusters[0]?.name).toBe('x');
    expect(created.text.startsWith('# cred-courier registration file')).toBe(true);
    const filled = upsertCluster('settings: {}\nclusters: []\n', 'x', { kubeconfigSecret: 'k/x' });
    expect(filled.text).toBe('settings: {}\nclusters:\n  - name: x\n    kubeconfigSecret: k/x\n');
  });

  it('refuses a clusters list in flow style and text that is not YAML', () => {
    expect(() => upsertCluster('clusters: [{ name: a }]\n', 'b', {})).toThrow(ConfigError);
    expect(() => upsertCluster('clusters: [\n', 'b', {})).toThrow(ConfigError);
  });
});

describe('removeCluster', () => {
  it('removes a middle entry with its own comment and separating blank line, nothing else', () => {
    // Act
    const result = removeCluster(FILE, 'beta');

    // Assess
    expect(result.action).toBe('removed');
    const betaBlock = `\n  # Second: block style, comments inside.\n${entryText(FILE, 'beta')}`;
    expect(result.text).toBe(FILE.replace(betaBlock, ''));
    expect(parse(result.text).clusters.map((c: { name: string }) => c.name)).toEqual(['alpha', 'gamma']);
  });

  it('removes the first and the last entry cleanly', () => {
    const first = removeCluster(FILE, 'alpha').text;
    expect(first).toContain('clusters:\n  # Second: block style, comments inside.\n  - name: beta');
    expect(first).not.toContain('# First');
    const last = removeCluster(FILE, 'gamma').text;
    expect(last.endsWith('serviceAccounts: [default, builder]   # two accounts\n')).toBe(true);
    expect(last).not.toContain('# Third');
  });

  it('says absent for an unknown cluster and leaves clusters: [] after the last one', () => {
    expect(removeCluster(FILE, 'nope')).toMatchObject({ text: FILE, action: 'absent' });
    expect(removeCluster('clusters:\n  - name: only\n    kubeconfigSecret: k\n', 'only').text).toBe(
      'clusters: []\n',
    );
  });

  it('is the inverse of adding', () => {
    const added = upsertCluster(FILE, 'delta', {
      kubeconfigSecret: 'k/delta',
      namespaces: { names: ['a'] },
    }).text;
    expect(removeCluster(added, 'delta').text).toBe(FILE);
  });
});

describe('clusterFields', () => {
  it('reads an entry as written, before defaults', () => {
    expect(clusterFields(FILE, 'beta')).toEqual({
      name: 'beta',
      kubeconfigSecret: 'cred-courier/clusters/beta',
      namespaces: { names: ['web', 'api'] },
      ecr: { serviceAccounts: ['default', 'builder'] },
    });
    expect(clusterFields(FILE, 'nope')).toBeUndefined();
  });
});

describe('originalLine', () => {
  const TEXT = [
    'clusters:', // 1
    '  - name: a', // 2
    '    kubeconfigSecret: k/a', // 3
    '    namespaces:', // 4
    '      names: [app]', // 5
    '  - name: b', // 6
    '    kubeconfigSecret: k/b', // 7
    '',
  ].join('\n');
  const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;

  it('maps every line of an edited text back to the file as it is, and lines the edit wrote to nothing', () => {
    // Act
    const shortened = upsertCluster(TEXT, 'a', {
      namespaces: { names: ['app', 'web'] },
      adoptExistingSecrets: true,
    });
    const appended = upsertCluster(TEXT, 'c', { kubeconfigSecret: 'k/c' });
    const removed = removeCluster(TEXT, 'a');

    // Assess: b keeps its own lines whatever happened above it.
    for (const edit of [shortened, appended, removed]) {
      expect(edit.originalLine(lineOf(edit.text, 'name: b'))).toBe(6);
      expect(edit.originalLine(lineOf(edit.text, 'k/b'))).toBe(7);
    }
    expect(shortened.originalLine(lineOf(shortened.text, 'namespaces:'))).toBe(4);
    expect(shortened.originalLine(lineOf(shortened.text, 'adoptExistingSecrets'))).toBeUndefined();
    expect(appended.originalLine(lineOf(appended.text, 'name: c'))).toBeUndefined();
    expect(appended.originalLine(lineOf(appended.text, 'k/c'))).toBeUndefined();
    expect(removed.originalLine(1)).toBe(1);
  });
});
