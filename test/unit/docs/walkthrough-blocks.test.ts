/**
 * The marked command blocks the walk-through test runs: how they are read from Markdown, and that the
 * README's Getting started still has the shape that test relies on (checked here without the rig).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { markedBlocks, printedButMissing, withValues } from '../../integration/walkthrough-support.ts';
import { PROJECT_ROOT } from '../packaging/sls.ts';

const fence = '```';

describe('marked README blocks', () => {
  it('reads each mode with its detail, in document order, and ignores other blocks', () => {
    // Prepare
    const markdown = [
      `${fence}sh walkthrough-vars`,
      'export A=1',
      fence,
      `${fence}sh`,
      'echo unmarked',
      fence,
      `${fence}sh walkthrough-instead: npx sls package`,
      'npx sls deploy',
      fence,
      `${fence}sh walkthrough-skip: needs IAM`,
      'aws iam create-role',
      fence,
      `${fence}sh walkthrough`,
      'echo one',
      'echo two',
      fence,
      `${fence}sh fleet`,
      'echo other flow',
      fence,
    ].join('\n');

    // Act
    const blocks = markedBlocks(markdown, 'walkthrough');

    // Assess
    expect(blocks).toEqual([
      { mode: 'vars', detail: '', text: 'export A=1', line: 1 },
      { mode: 'instead', detail: 'npx sls package', text: 'npx sls deploy', line: 7 },
      { mode: 'skip', detail: 'needs IAM', text: 'aws iam create-role', line: 10 },
      { mode: 'run', detail: '', text: 'echo one\necho two', line: 13 },
    ]);
  });

  it('refuses a block that is never closed, and an instead or skip that does not say what or why', () => {
    expect(() => markedBlocks(`${fence}sh walkthrough\necho`, 'walkthrough')).toThrow(
      /line 1: .*never closed/,
    );
    expect(() => markedBlocks(`${fence}sh walkthrough-skip:\necho\n${fence}`, 'walkthrough')).toThrow(
      /line 1: .*needs what it does instead, or why/,
    );
  });

  it('replaces the values of the named variables, and refuses a name the block no longer sets', () => {
    // Prepare
    const block = markedBlocks(
      `${fence}sh walkthrough-vars\nexport FLEET=$HOME/fleet   # yours\nexport STAGE=dev\n${fence}`,
      'walkthrough',
    )[0];
    if (!block) throw new Error('no block');

    // Act / Assess
    expect(withValues(block, { FLEET: "/tmp/it's here" })).toBe(
      "export FLEET='/tmp/it'\\''s here'\nexport STAGE=dev",
    );
    expect(() => withValues(block, { KUBECONFIG: '/x' })).toThrow(/no longer sets KUBECONFIG/);
  });

  it("the README's Getting started deploys, registers, deploys again, invokes and reads the Secret, in that order", () => {
    // Prepare
    const readme = readFileSync(`${PROJECT_ROOT}README.md`, 'utf8');

    // Act
    const blocks = markedBlocks(readme, 'walkthrough');
    const order = (needle: string) =>
      blocks.findIndex((b) => b.text.includes(needle) && b.mode !== 'skip' && b.mode !== 'vars');

    // Assess
    const steps = [
      'cred-courier validate',
      'npx sls deploy',
      'FUNCTION_ROLE_ARN=',
      'cred-courier register',
      'npx sls invoke',
      'get secret ecr-pull',
    ].map(order);
    expect(steps.every((index) => index >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    const deploys = blocks.filter((b) => b.text.includes('npx sls deploy'));
    expect(deploys.map((b) => [b.mode, b.detail.startsWith('npx sls package')])).toEqual([
      ['instead', true],
      ['instead', true],
    ]);
    expect(blocks.find((b) => b.text.includes('npx sls invoke'))?.detail).toMatch(/^npx cred-courier run /);
  });
});

describe('what a marked block prints', () => {
  it('attaches a prints block to the command block before it', () => {
    const blocks = markedBlocks(
      `${fence}sh walkthrough\necho hi\n${fence}\n\n${fence}text walkthrough-prints\nhi\n${fence}`,
      'walkthrough',
    );
    expect(blocks.map((b) => b.prints)).toEqual(['hi']);
    expect(() => markedBlocks(`${fence}text walkthrough-prints\nhi\n${fence}`, 'walkthrough')).toThrow(
      /follows no walkthrough command block/,
    );
  });

  it('compares in order, times, numbers, URLs and paths aside, with … for anything', () => {
    const output = [
      'register my-cluster',
      '  stored      cred-courier/clusters/my-cluster: created',
      '  verified    ✓ reachability: https://127.0.0.1:42131 answers (Kubernetes v1.35.4)',
      '              ✓ token-expiry: token expires at 2026-12-31T14:29:45.000Z (30.0 days): more text',
      '/tmp/x/fleet/clusters.yaml: valid, 1 cluster(s)',
      'ok',
    ].join('\n');
    expect(
      printedButMissing(
        output,
        [
          'register my-cluster',
          '  stored cred-courier/clusters/my-cluster: created',
          '  verified    ✓ reachability: https://203.0.113.10 answers (Kubernetes v1.30.0)',
          '✓ token-expiry: token expires at 2027-01-01T00:00:00.000Z (7.5 days): …',
          '',
          '/home/you/fleet/clusters.yaml: valid, 2 cluster(s)',
          'ok',
        ].join('\n'),
      ),
    ).toEqual([]);
    expect(printedButMissing(output, 'ok\nregister my-cluster\nstored … updated')).toEqual([
      'register my-cluster',
      'stored … updated',
    ]);
  });
});
