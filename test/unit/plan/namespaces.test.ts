import { describe, expect, it } from 'vitest';
import type { NamespaceSelection } from '../../../src/config/types.ts';
import {
  type ClusterNamespaces,
  needsNamespaceListing,
  SYSTEM_NAMESPACES,
  selectNamespaces,
} from '../../../src/plan/namespaces.ts';

/** A selection with no selector and no excludes unless given. */
function selection(names: string[], extra: Partial<NamespaceSelection> = {}): NamespaceSelection {
  return { names, exclude: [], ...extra };
}

/** What the cluster reported: every namespace, and those the selector matched. */
function existing(all: string[], matchingSelector: string[] = []): ClusterNamespaces {
  return { all, matchingSelector };
}

describe('Function: selectNamespaces', () => {
  describe('exact names', () => {
    it('selects an exact name even when the cluster listing does not contain it', () => {
      // Prepare
      const wanted = selection(['app', 'missing']);

      // Act
      const selected = selectNamespaces(wanted, existing(['app', 'other']));

      // Assess
      expect(selected).toEqual(['app', 'missing']);
    });

    it('selects exact names without any listing at all', () => {
      // Prepare
      const wanted = selection(['b', 'a']);

      // Act
      const selected = selectNamespaces(wanted);

      // Assess
      expect(selected).toEqual(['a', 'b']);
    });

    it('does not select listed namespaces that were not asked for', () => {
      // Prepare
      const wanted = selection(['app']);

      // Act
      const selected = selectNamespaces(wanted, existing(['app', 'app2', 'team-a']));

      // Assess
      expect(selected).toEqual(['app']);
    });

    it('treats a dot in a name as a literal dot, not as any character', () => {
      // Prepare
      const wanted = selection(['a.c', 'x.*']);

      // Act
      const selected = selectNamespaces(wanted, existing(['abc', 'a.c', 'x.y', 'xy', 'x-y']));

      // Assess
      expect(selected).toEqual(['a.c', 'x.y']);
    });

    it('treats other regular-expression characters in a glob literally', () => {
      // Prepare
      const wanted = selection(['a+b*', '(x)?']);

      // Act
      const selected = selectNamespaces(wanted, existing(['a+b1', 'aab1', 'ab1', '(x)1', 'x1']));

      // Assess
      expect(selected).toEqual(['(x)1', 'a+b1']);
    });
  });

  describe('globs', () => {
    it('matches `team-*` against listed namespaces only', () => {
      // Prepare
      const wanted = selection(['team-*']);

      // Act
      const selected = selectNamespaces(wanted, existing(['team-a', 'team-b', 'team', 'my-team-a', 'app']));

      // Assess
      expect(selected).toEqual(['team-a', 'team-b']);
    });

    it('selects nothing for a glob when there is no listing', () => {
      // Prepare
      const wanted = selection(['team-*']);

      // Act
      const selected = selectNamespaces(wanted);

      // Assess
      expect(selected).toEqual([]);
    });

    it('matches `?` as exactly one character', () => {
      // Prepare
      const wanted = selection(['a?c']);

      // Act
      const selected = selectNamespaces(wanted, existing(['abc', 'axc', 'ac', 'abbc', 'abcd']));

      // Assess
      expect(selected).toEqual(['abc', 'axc']);
    });

    it('anchors globs at both ends', () => {
      // Prepare
      const wanted = selection(['*-dev']);

      // Act
      const selected = selectNamespaces(wanted, existing(['a-dev', 'a-dev-2', 'dev']));

      // Assess
      expect(selected).toEqual(['a-dev']);
    });
  });

  describe('label selector', () => {
    it('selects the namespaces the selector matched', () => {
      // Prepare
      const wanted = selection([], { selector: 'env=prod' });

      // Act
      const selected = selectNamespaces(wanted, existing(['web', 'api', 'other'], ['web', 'api']));

      // Assess
      expect(selected).toEqual(['api', 'web']);
    });

    it('combines selector matches with names', () => {
      // Prepare
      const wanted = selection(['app', 'team-*'], { selector: 'env=prod' });

      // Act
      const selected = selectNamespaces(wanted, existing(['web', 'team-a', 'zzz'], ['web']));

      // Assess
      expect(selected).toEqual(['app', 'team-a', 'web']);
    });
  });

  describe('system namespaces', () => {
    it.each([...SYSTEM_NAMESPACES])('selects %s when it is named exactly', (name) => {
      // Prepare
      const wanted = selection([name]);

      // Act
      const selected = selectNamespaces(wanted, existing([name, 'app']));

      // Assess
      expect(selected).toEqual([name]);
    });

    it('leaves kube-system, kube-public and kube-node-lease out of a `*` match', () => {
      // Prepare
      const wanted = selection(['*']);

      // Act
      const selected = selectNamespaces(
        wanted,
        existing(['default', 'kube-system', 'kube-public', 'kube-node-lease', 'app']),
      );

      // Assess
      expect(selected).toEqual(['app', 'default']);
    });

    it('leaves system namespaces out of a `kube-*` match', () => {
      // Prepare
      const wanted = selection(['kube-*']);

      // Act
      const selected = selectNamespaces(
        wanted,
        existing(['kube-system', 'kube-public', 'kube-node-lease', 'kube-apps']),
      );

      // Assess
      expect(selected).toEqual(['kube-apps']);
    });

    it('leaves system namespaces out of selector matches', () => {
      // Prepare
      const wanted = selection([], { selector: 'env' });

      // Act
      const selected = selectNamespaces(
        wanted,
        existing(['kube-system', 'app'], ['kube-system', 'kube-public', 'kube-node-lease', 'app']),
      );

      // Assess
      expect(selected).toEqual(['app']);
    });

    it('keeps an exactly named system namespace alongside a `*` match', () => {
      // Prepare
      const wanted = selection(['*', 'kube-system']);

      // Act
      const selected = selectNamespaces(wanted, existing(['kube-system', 'kube-public', 'app']));

      // Assess
      expect(selected).toEqual(['app', 'kube-system']);
    });
  });

  describe('excludes', () => {
    it('removes glob matches that an exclude glob matches', () => {
      // Prepare
      const wanted = selection(['team-*'], { exclude: ['team-legacy*', '*-sandbox'] });

      // Act
      const selected = selectNamespaces(
        wanted,
        existing(['team-a', 'team-legacy', 'team-legacy-2', 'team-b-sandbox', 'team-c']),
      );

      // Assess
      expect(selected).toEqual(['team-a', 'team-c']);
    });

    it('removes an exactly named namespace when an exclude glob matches it', () => {
      // Prepare
      const wanted = selection(['app-sandbox', 'app'], { exclude: ['*-sandbox'] });

      // Act
      const selected = selectNamespaces(wanted, existing(['app-sandbox', 'app']));

      // Assess
      expect(selected).toEqual(['app']);
    });

    it('removes an exactly named namespace that is also excluded exactly', () => {
      // Prepare
      const wanted = selection(['app', 'kube-system'], { exclude: ['kube-system'] });

      // Act
      const selected = selectNamespaces(wanted, existing([]));

      // Assess
      expect(selected).toEqual(['app']);
    });

    it('removes selector matches that are excluded', () => {
      // Prepare
      const wanted = selection([], { selector: 'env=prod', exclude: ['web'] });

      // Act
      const selected = selectNamespaces(wanted, existing(['web', 'api'], ['web', 'api']));

      // Assess
      expect(selected).toEqual(['api']);
    });

    it('treats a dot in an exclude as literal', () => {
      // Prepare
      const wanted = selection(['*'], { exclude: ['a.c'] });

      // Act
      const selected = selectNamespaces(wanted, existing(['abc', 'a.c']));

      // Assess
      expect(selected).toEqual(['abc']);
    });
  });

  describe('output', () => {
    it('is sorted and holds each namespace once, whichever ways it was selected', () => {
      // Prepare
      const wanted = selection(['zeta', 'app', 'app', 'a*', 'team-?'], { selector: 'env' });

      // Act
      const selected = selectNamespaces(
        wanted,
        existing(['team-b', 'app', 'alpha', 'zeta', 'team-a'], ['team-a', 'zeta', 'app']),
      );

      // Assess
      expect(selected).toEqual(['alpha', 'app', 'team-a', 'team-b', 'zeta']);
    });

    it('selects nothing for empty names and no selector', () => {
      // Prepare
      const wanted = selection([]);

      // Act
      const selected = selectNamespaces(wanted, existing(['app', 'default']));

      // Assess
      expect(selected).toEqual([]);
    });
  });
});

describe('Function: needsNamespaceListing', () => {
  it.each([
    { names: ['app', 'web'], selector: undefined, expected: false },
    { names: [], selector: undefined, expected: false },
    { names: ['app', 'team-*'], selector: undefined, expected: true },
    { names: ['a?c'], selector: undefined, expected: true },
    { names: ['app'], selector: 'env=prod', expected: true },
    { names: [], selector: 'env', expected: true },
  ])('is $expected for names $names and selector $selector', ({ names, selector, expected }) => {
    // Prepare
    const wanted = selection(names, selector === undefined ? {} : { selector });

    // Act
    const needed = needsNamespaceListing(wanted);

    // Assess
    expect(needed).toBe(expected);
  });

  it('does not need a listing for exclude globs alone', () => {
    // Prepare
    const wanted = selection(['app'], { exclude: ['*-sandbox'] });

    // Act
    const needed = needsNamespaceListing(wanted);

    // Assess
    expect(needed).toBe(false);
  });
});
