import { describe, expect, it } from 'vitest';
import { containsAll } from '../../../src/kube/apply.ts';

describe('containsAll', () => {
  it('ignores fields only the server has (defaults) and compares the rest exactly', () => {
    const wanted = { spec: { failurePolicy: 'Fail', rules: [{ verbs: ['get'] }] } };
    const actual = {
      spec: { failurePolicy: 'Fail', matchPolicy: 'Equivalent', rules: [{ verbs: ['get'], scope: '*' }] },
    };
    expect(containsAll(actual, wanted)).toBe(true);
  });

  it.each([
    ['a changed value', { a: 1 }, { a: 2 }],
    ['a missing field', {}, { a: 1 }],
    ['a longer list', { l: [1, 2] }, { l: [1] }],
    ['another order', { l: ['a', 'b'] }, { l: ['b', 'a'] }],
    ['a list for an object', { a: [] }, { a: {} }],
  ])('sees %s', (_what, actual, wanted) => {
    expect(containsAll(actual, wanted)).toBe(false);
  });
});
