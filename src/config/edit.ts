/**
 * Edits of the registration file that keep everything else byte for byte: comments, blank lines, key
 * order, quoting and the style of every other entry. The `yaml` Document API finds where things are;
 * the edit itself is a splice of the original text at those positions, because printing the whole
 * document again (Document#toString) would re-flow collections and requote scalars elsewhere.
 *
 * Only the entry being edited changes: a replaced value is written in flow style on its key's line, a
 * new key is added after the entry's last line, a new entry is appended after the last one in block
 * style, and a removed entry takes its own lines with it (and the comment lines right above it).
 */
import { isDeepStrictEqual } from 'node:util';
import {
  isMap,
  isScalar,
  isSeq,
  type Pair,
  parseDocument,
  stringify,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { ConfigError } from '../errors.ts';

/** Top-level keys of a cluster entry and their values, as written in the file (before defaults). */
export type ClusterFields = Readonly<Record<string, unknown>>;

export type EditAction = 'added' | 'updated' | 'unchanged' | 'removed' | 'absent';

/** Where a line (1-based) of the edited text was in the text before the edit; undefined for one it wrote. */
export type LineMap = (line: number) => number | undefined;

export interface EditResult {
  readonly text: string;
  readonly action: EditAction;
  /**
   * Lines of `text` back to the file as it is, so problems found in the edited text can point at the
   * lines the user sees (`parseConfig(text, file, { originalLine: result.originalLine })`).
   */
  readonly originalLine: LineMap;
}

/** Offsets at which each line of `text` starts. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** The 1-based line holding `offset`, from `lineStarts`. */
function lineOfOffset(starts: readonly number[], offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if ((starts[middle] ?? 0) <= offset) low = middle;
    else high = middle - 1;
  }
  return low + 1;
}

/** An edit as a sequence of splices of the text, remembering how lines moved. */
class Splicer {
  #text: string;
  readonly #maps: LineMap[] = [];

  constructor(text: string) {
    this.#text = text;
  }

  get text(): string {
    return this.#text;
  }

  /** Replaces `[start, end)` by `inserted`. */
  splice(start: number, end: number, inserted: string): void {
    const before = this.#text;
    const after = before.slice(0, start) + inserted + before.slice(end);
    const beforeStarts = lineStarts(before);
    const afterStarts = lineStarts(after);
    this.#maps.push((line) => {
      const offset = afterStarts[line - 1];
      if (offset === undefined) return undefined;
      // A line starting before the splice is where it was (a replaced value keeps its key's line).
      if (offset < start) return line;
      // A line starting after the inserted text is original text, moved.
      if (offset >= start + inserted.length && (offset > start || inserted === '')) {
        return lineOfOffset(beforeStarts, offset - inserted.length + (end - start));
      }
      return undefined;
    });
    this.#text = after;
  }

  result(action: EditAction): EditResult {
    const maps = [...this.#maps].reverse();
    return {
      text: this.#text,
      action,
      originalLine: (line) => {
        let current: number | undefined = line;
        for (const map of maps) {
          if (current === undefined) return undefined;
          current = map(current);
        }
        return current;
      },
    };
  }
}

/** The header of a registration file `register` creates. */
const NEW_FILE_HEADER =
  '# cred-courier registration file (`cred-courier validate` checks it; see config/clusters.yaml in the\n' +
  '# project for every field).\n';

interface Located {
  readonly seq: YAMLSeq | undefined;
  /** The `clusters` pair, when present. */
  readonly pair: Pair | undefined;
  readonly item: YAMLMap | undefined;
}

function locate(text: string, file: string, name: string): Located {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, [
      `not valid YAML, so it cannot be edited: ${doc.errors[0]?.message.split('\n')[0]}`,
    ]);
  }
  if (doc.contents === null) return { seq: undefined, pair: undefined, item: undefined };
  if (!isMap(doc.contents))
    throw new ConfigError(file, ['top level: expected a mapping with a clusters list']);
  const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'clusters');
  const value = pair?.value;
  if (value !== null && value !== undefined && !isSeq(value) && !(isScalar(value) && value.value === null)) {
    throw new ConfigError(file, ['clusters: expected a list']);
  }
  const seq = isSeq(value) ? value : undefined;
  if (seq?.flow && seq.items.length > 0) {
    throw new ConfigError(file, [
      'clusters is written in flow style ([...]); write it as a block list to let cred-courier edit it',
    ]);
  }
  const item = seq?.items.find(
    (entry) =>
      isMap(entry) &&
      entry.items.some(
        (p) => isScalar(p.key) && p.key.value === 'name' && isScalar(p.value) && p.value.value === name,
      ),
  ) as YAMLMap | undefined;
  return { seq, pair, item };
}

const lineStart = (text: string, offset: number) => text.lastIndexOf('\n', offset - 1) + 1;
const columnOf = (text: string, offset: number) => offset - lineStart(text, offset);

/** A value as it is written on its key's line: scalars as YAML scalars, collections in flow style. */
export function inlineYaml(value: unknown): string {
  return stringify(value, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).trimEnd();
}

/** An entry in block style, lists of plain values in flow style, indented to `column`. */
function entryBlock(fields: ClusterFields, column: number): string {
  const doc = parseDocument(stringify([fields], { lineWidth: 0 }));
  const flowLists = (node: unknown): void => {
    if (isSeq(node)) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
      else for (const item of node.items) flowLists(item);
    } else if (isMap(node)) {
      for (const pair of node.items) flowLists(pair.value);
    }
  };
  flowLists(doc.contents);
  const pad = ' '.repeat(column);
  return doc
    .toString({ lineWidth: 0, flowCollectionPadding: false })
    .trimEnd()
    .split('\n')
    .map((line) => (line ? pad + line : line))
    .join('\n')
    .concat('\n');
}

/**
 * Adds the cluster `name` with `fields` (keys other than `name`), or sets those keys on its entry when
 * it exists. Keys not in `fields` are left as written; a key whose value is already equal is not
 * touched, so applying the same fields twice leaves the text unchanged (`unchanged`).
 * @throws ConfigError when the text is not YAML, or `clusters` is not a block list.
 */
export function upsertCluster(
  text: string,
  name: string,
  fields: ClusterFields,
  file = 'clusters.yaml',
): EditResult {
  const edit = new Splicer(text);
  const { item } = locate(text, file, name);
  if (!item) {
    appendCluster(edit, file, { name, ...fields });
    return edit.result('added');
  }
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'name' || value === undefined) continue;
    setKey(edit, file, name, key, value);
  }
  return edit.result(edit.text !== text ? 'updated' : 'unchanged');
}

function setKey(edit: Splicer, file: string, name: string, key: string, value: unknown): void {
  const text = edit.text;
  const { item } = locate(text, file, name);
  if (!item?.range) return;
  const pair = item.items.find((p) => isScalar(p.key) && p.key.value === key);
  if (!pair) {
    // A new key goes after the entry's last line, at the column of its keys.
    const firstKey = item.items[0]?.key;
    const column = isScalar(firstKey) && firstKey.range ? columnOf(text, firstKey.range[0]) : 4;
    const end = item.range[1];
    const newline = end > 0 && text[end - 1] !== '\n' ? '\n' : '';
    edit.splice(end, end, `${newline}${' '.repeat(column)}${key}: ${inlineYaml(value)}\n`);
    return;
  }
  const valueNode = pair.value as { toJSON?: () => unknown; range?: [number, number, number] } | null;
  const currentValue =
    isScalar(valueNode) || isMap(valueNode) || isSeq(valueNode) ? valueNode.toJSON() : null;
  if (isDeepStrictEqual(currentValue, value)) return;
  const keyEnd = (pair.key as { range?: [number, number, number] }).range?.[1] ?? 0;
  const colon = text.indexOf(':', keyEnd);
  const valueEnd = valueNode?.range?.[1] ?? colon + 1;
  const trailingNewline = text.slice(colon + 1, valueEnd).endsWith('\n') ? '\n' : '';
  edit.splice(colon + 1, valueEnd, ` ${inlineYaml(value)}${trailingNewline}`);
}

function appendCluster(edit: Splicer, file: string, fields: ClusterFields): void {
  const text = edit.text;
  const { seq, pair } = locate(text, file, String(fields.name));
  const firstItem = seq?.items[0] as { range?: [number, number, number] } | undefined;
  if (seq?.range && firstItem?.range) {
    const dash = text.lastIndexOf('-', firstItem.range[0]);
    const column = columnOf(text, dash);
    const end = seq.range[1];
    const newline = end > 0 && text[end - 1] !== '\n' ? '\n' : '';
    const blank = separatedByBlankLines(text, seq) ? '\n' : '';
    edit.splice(end, end, `${newline}${blank}${entryBlock(fields, column)}`);
    return;
  }
  if (pair) {
    // `clusters:` with nothing, or `clusters: []`: the list replaces the empty value.
    const keyEnd = (pair.key as { range?: [number, number, number] }).range?.[1] ?? 0;
    const colon = text.indexOf(':', keyEnd);
    const value = pair.value as { range?: [number, number, number] } | null;
    const valueEnd = value?.range ? value.range[1] : colon + 1;
    const rest = /^[ \t]*\n?/.exec(text.slice(valueEnd))?.[0] ?? '';
    edit.splice(colon + 1, valueEnd + rest.length, `\n${entryBlock(fields, 2)}`);
    return;
  }
  if (text.trim().length === 0) edit.splice(0, text.length, NEW_FILE_HEADER);
  else if (!text.endsWith('\n')) edit.splice(text.length, text.length, '\n');
  edit.splice(edit.text.length, edit.text.length, `clusters:\n${entryBlock(fields, 2)}`);
}

/** Whether the last two entries are separated by a blank line, so a new one should be too. */
function separatedByBlankLines(text: string, seq: YAMLSeq): boolean {
  const [before, last] = seq.items.slice(-2) as ({ range?: [number, number, number] } | undefined)[];
  if (!before?.range || !last?.range) return false;
  return /\n[ \t]*\n/.test(text.slice(before.range[1] - 1, text.lastIndexOf('-', last.range[0])));
}

/**
 * Removes the entry of cluster `name`: its lines, the comment lines right above it at its indentation,
 * and one separating blank line. The last entry leaves `clusters: []` (which validation then reports:
 * the file needs at least one cluster).
 */
export function removeCluster(text: string, name: string, file = 'clusters.yaml'): EditResult {
  const edit = new Splicer(text);
  const { seq, pair, item } = locate(text, file, name);
  if (!item?.range || !seq) return edit.result('absent');
  if (seq.items.length === 1 && pair) {
    const keyEnd = (pair.key as { range?: [number, number, number] }).range?.[1] ?? 0;
    const colon = text.indexOf(':', keyEnd);
    const end = seq.range?.[1] ?? item.range[1];
    edit.splice(colon + 1, end, ' []\n');
    return edit.result('removed');
  }
  const dash = text.lastIndexOf('-', item.range[0]);
  const column = columnOf(text, dash);
  let start = lineStart(text, dash);
  // Comment lines directly above the entry, at its indentation, belong to it.
  for (;;) {
    const previous = lineStart(text, start - 1);
    const line = text.slice(previous, start - 1);
    if (start === 0 || !new RegExp(`^ {${column}}#`).test(line)) break;
    start = previous;
  }
  let end = item.range[1];
  if (end < text.length && text[end - 1] !== '\n') end = text.indexOf('\n', end) + 1 || text.length;
  const isFirst = seq.items[0] === item;
  if (isFirst) {
    // The blank lines that separated it from the next entry go with it.
    while (/^[ \t]*\n/.test(text.slice(end))) end = text.indexOf('\n', end) + 1;
  } else {
    // The blank lines that separated it from the previous entry go with it.
    while (start > 0) {
      const previous = lineStart(text, start - 1);
      if (!/^[ \t]*$/.test(text.slice(previous, start - 1))) break;
      start = previous;
    }
  }
  edit.splice(start, end, '');
  return edit.result('removed');
}

/** The entry of cluster `name` as written (before defaults), or undefined. */
export function clusterFields(
  text: string,
  name: string,
  file = 'clusters.yaml',
): Record<string, unknown> | undefined {
  const { item } = locate(text, file, name);
  return item ? (item.toJSON() as Record<string, unknown>) : undefined;
}
