/** Fleet-file texts for config tests, and the issues the validator reports on them. */
import { expect } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';

/** Joins lines into a YAML text, so fixtures keep their indentation readable inside the tests. */
export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** The issues of the ConfigError `text` must raise. */
export function issuesOf(text: string): readonly string[] {
  try {
    parseConfig(text, 'clusters.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected parseConfig to throw a ConfigError');
}

/** Asserts exactly one issue was reported, and returns it. */
export function onlyIssueOf(text: string): string {
  const issues = issuesOf(text);
  expect(issues).toHaveLength(1);
  return issues[0] ?? '';
}
