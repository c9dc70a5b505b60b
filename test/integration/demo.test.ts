/**
 * `npm run demo` end to end: its own local stack (beside the suite's), both clusters registered from
 * their admin kubeconfigs through the CLI, a delivery of ECR and S3, `status` and `check` all passing.
 */
import { describe, expect, it, vi } from 'vitest';
import { runDemo } from '../../scripts/demo.ts';
import { rig, skipReason } from './rig-context.ts';

describe.skipIf(!rig)(`npm run demo${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('registers both clusters, delivers ECR and S3 Secrets, and reports them healthy', async () => {
    // Prepare
    const printed: string[] = [];
    const narration: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });

    // Act
    let result: Awaited<ReturnType<typeof runDemo>>;
    try {
      result = await runDemo({ say: (line) => narration.push(line) });
    } finally {
      stdout.mockRestore();
    }

    // Assess
    const output = printed.join('');
    expect(result.steps.map((s) => [s.command[0], s.exitCode])).toEqual([
      ['register', 0],
      ['register', 0],
      ['run', 0],
      ['status', 0],
      ['check', 0],
    ]);
    expect(result.ok).toBe(true);
    expect(output).toMatch(/ok: 2 of 2 clusters ok, 0 failed; Secrets: 4 delivered, 0 failed/);
    for (const line of [
      /✓ ok +ecr demo-app\/ecr-pull .*\[default:referenced\]/,
      /✓ ok +ecr demo-web\/ecr-pull/,
      /✓ ok +s3 +demo-web\/reports-reader/,
      /✓ ok +ecr demo-api\/ecr-pull/,
    ]) {
      expect(output).toMatch(line);
    }
    expect(output).toMatch(/config .*clusters\.yaml: added/);
    expect(output).not.toMatch(/token: ey/);
    expect(narration.at(-1)).toMatch(/stopping the local stack/);
  }, 300_000);
});
