/**
 * Writes `config/clusters.schema.json`, the JSON Schema editors use to check and explain
 * `config/clusters.yaml` (through its `# yaml-language-server: $schema=` line).
 *
 *   node scripts/export-schema.ts           write the file
 *   node scripts/export-schema.ts --check   exit 1 when the committed file is stale (for CI)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/config/schema.ts';

/** Where the schema is committed, next to the example registration file. */
export const SCHEMA_FILE = fileURLToPath(new URL('../config/clusters.schema.json', import.meta.url));

/** The exact text committed: two-space JSON with a trailing newline. */
export function schemaFileText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  const text = schemaFileText();
  if (argv.includes('--check')) {
    const committed = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
    if (committed === text) return 0;
    console.error(`${SCHEMA_FILE} is stale: run npm run schema`);
    return 1;
  }
  await writeFile(SCHEMA_FILE, text);
  console.log(`wrote ${SCHEMA_FILE}`);
  return 0;
}

// Run only as a script, so tests can import schemaFileText without writing files.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
