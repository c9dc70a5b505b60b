/** The `proxy` field of a cluster entry and of `defaults`: its form, its inheritance, its messages. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/errors.ts';

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

function oneCluster(...proxyLines: string[]): string {
  return yaml(
    'clusters:',
    '  - name: edge',
    '    kubeconfigSecret: cred-courier/clusters/edge',
    '    namespaces: { names: [app] }',
    ...proxyLines,
  );
}

function issuesOf(text: string): readonly string[] {
  try {
    parseConfig(text, 'clusters.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected parseConfig to throw a ConfigError');
}

describe('proxy in the registration file', () => {
  it('reads a proxy with a credentials secret, keeping its origin', () => {
    const config = parseConfig(
      oneCluster(
        '    proxy:',
        '      url: http://proxy.example:3128/',
        '      credentialsSecret: cred-courier/proxies/corp',
      ),
      'clusters.yaml',
    );
    expect(config.clusters[0]?.proxy).toEqual({
      url: 'http://proxy.example:3128',
      credentialsSecret: 'cred-courier/proxies/corp',
    });
  });

  it('accepts an https proxy without credentials, and a cluster without a proxy has none', () => {
    const config = parseConfig(oneCluster('    proxy: { url: "https://proxy.example" }'), 'clusters.yaml');
    expect(config.clusters[0]?.proxy).toEqual({ url: 'https://proxy.example' });
    expect(parseConfig(oneCluster(), 'clusters.yaml').clusters[0]).not.toHaveProperty('proxy');
  });

  it("inherits defaults.proxy; a cluster's own proxy replaces it whole", () => {
    const config = parseConfig(
      yaml(
        'defaults:',
        '  namespaces: { names: [app] }',
        '  proxy: { url: "http://corp-proxy.example:3128", credentialsSecret: proxies/corp }',
        'clusters:',
        '  - name: a',
        '    kubeconfigSecret: k/a',
        '  - name: b',
        '    kubeconfigSecret: k/b',
        '    proxy: { url: "http://edge-proxy.example:8080" }',
      ),
      'clusters.yaml',
    );
    expect(config.clusters.map((c) => c.proxy)).toEqual([
      { url: 'http://corp-proxy.example:3128', credentialsSecret: 'proxies/corp' },
      { url: 'http://edge-proxy.example:8080' },
    ]);
  });

  it.each([
    ['socks5://proxy.example:1080', 'the scheme is "socks5:"'],
    ['proxy.example:3128', 'the scheme is "proxy.example:"'],
    ['not a url', 'not a URL'],
    ['http://proxy.example:3128/?x=1', 'it holds a query or fragment'],
    ['http://proxy.example:3128/#x', 'it holds a query or fragment'],
    ['http://proxy.example:3128/path', 'it holds a path'],
  ])('refuses url %s, naming the field and line', (url, problem) => {
    const issues = issuesOf(oneCluster('    proxy:', `      url: "${url}"`));
    expect(issues).toEqual([
      `clusters[0].proxy.url (line 6): expected an http:// or https:// URL of a forward proxy such as http://proxy.example:3128; ${problem}, got "${url}"`,
    ]);
  });

  it('refuses credentials in the url without quoting them back', () => {
    const password = `pw${Date.now()}`;
    const issues = issuesOf(
      oneCluster('    proxy:', `      url: "http://courier:${password}@proxy.example:3128"`),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(
      /^clusters\[0\]\.proxy\.url \(line 6\): .*it holds a user name or password: put the credentials in the Secrets Manager secret named by credentialsSecret, got a URL with credentials$/,
    );
    expect(issues[0]).not.toContain(password);
  });

  it('refuses a missing url, an unknown key and a malformed secret reference', () => {
    expect(issuesOf(oneCluster('    proxy: { credentialsSecret: proxies/corp }'))).toEqual([
      expect.stringMatching(
        /^clusters\[0\]\.proxy\.url \(line 5\): missing \(expected an http:\/\/ or https:\/\/ URL/,
      ),
    ]);
    expect(issuesOf(oneCluster('    proxy: { url: "http://p.example", password: x }'))).toEqual([
      expect.stringMatching(/^clusters\[0\]\.proxy.*unknown key \(expected one of: url, credentialsSecret\)/),
    ]);
    expect(
      issuesOf(oneCluster('    proxy: { url: "http://p.example", credentialsSecret: "has space" }')),
    ).toEqual([
      expect.stringMatching(
        /^clusters\[0\]\.proxy\.credentialsSecret \(line 5\): expected a Secrets Manager secret name/,
      ),
    ]);
  });

  it('checks defaults.proxy the same way', () => {
    const issues = issuesOf(
      yaml(
        'defaults:',
        '  proxy: { url: "ftp://proxy.example" }',
        'clusters:',
        '  - name: a',
        '    kubeconfigSecret: k/a',
        '    namespaces: { names: [app] }',
      ),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^defaults\.proxy\.url \(line 2\): .*the scheme is "ftp:"/),
    ]);
  });
});
