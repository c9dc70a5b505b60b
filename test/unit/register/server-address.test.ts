import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  addressScope,
  proxyShown,
  proxyVariableFor,
  serverReachWarnings,
} from '../../../src/register/server-address.ts';
import { serverWarnings } from '../../../src/register/server-reach.ts';

describe('addressScope', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.1.9', 'loopback'],
    ['0.0.0.0', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.10', 'private'],
    ['fd12:3456::1', 'private'],
    ['fc00::1', 'private'],
    ['::ffff:10.1.2.3', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.254', 'shared'],
    ['[::1]', 'loopback'],
  ])('%s is %s', (address, scope) => {
    expect(addressScope(address)).toBe(scope);
  });

  it.each([
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '11.0.0.1',
    '192.169.0.1',
    '169.255.0.1',
    '8.8.8.8',
    '2001:db8::1',
    'fec0::1',
    '::ffff:8.8.8.8',
  ])('%s is public', (address) => {
    expect(addressScope(address)).toBe('public');
  });

  it('is undefined for a name', () => {
    expect(addressScope('api.example.com')).toBeUndefined();
    expect(addressScope('')).toBeUndefined();
  });
});

describe('proxyVariableFor', () => {
  const server = 'https://api.prod.example.com:6443';

  it('names the variable that applies, lower case first, ALL_PROXY last', () => {
    expect(proxyVariableFor(server, { HTTPS_PROXY: 'http://p:3128' })).toBe('HTTPS_PROXY');
    expect(proxyVariableFor(server, { https_proxy: 'http://a:1', HTTPS_PROXY: 'http://b:2' })).toBe(
      'https_proxy',
    );
    expect(proxyVariableFor(server, { ALL_PROXY: 'socks5://p:1080' })).toBe('ALL_PROXY');
    // HTTP_PROXY is not used for an https server.
    expect(proxyVariableFor(server, { HTTP_PROXY: 'http://p:3128' })).toBeUndefined();
    expect(proxyVariableFor(server, { HTTPS_PROXY: '  ' })).toBeUndefined();
    expect(proxyVariableFor(server, {})).toBeUndefined();
  });

  it.each([
    '*',
    'api.prod.example.com',
    'example.com',
    '.example.com',
    '*.example.com',
    'other.org, example.com',
    'api.prod.example.com:6443',
  ])('NO_PROXY=%s bypasses it', (noProxy) => {
    expect(proxyVariableFor(server, { HTTPS_PROXY: 'http://p:3128', NO_PROXY: noProxy })).toBeUndefined();
  });

  it.each(['ample.com', 'prod.example.org', 'api.prod.example.com:443', 'other.org'])(
    'NO_PROXY=%s does not bypass it',
    (noProxy) => {
      expect(proxyVariableFor(server, { HTTPS_PROXY: 'http://p:3128', no_proxy: noProxy })).toBe(
        'HTTPS_PROXY',
      );
    },
  );

  it('matches IP addresses and CIDR ranges, IPv6 bracketed or not', () => {
    const env = (noProxy: string) => ({ HTTPS_PROXY: 'http://p:3128', NO_PROXY: noProxy });
    expect(proxyVariableFor('https://10.1.2.3:6443', env('10.0.0.0/8'))).toBeUndefined();
    expect(proxyVariableFor('https://10.1.2.3:6443', env('10.1.2.3'))).toBeUndefined();
    expect(proxyVariableFor('https://11.1.2.3:6443', env('10.0.0.0/8'))).toBe('HTTPS_PROXY');
    expect(proxyVariableFor('https://[fd00::5]:6443', env('fd00::/8'))).toBeUndefined();
    expect(proxyVariableFor('https://[fd00::5]:6443', env('[fd00::5]:6443'))).toBeUndefined();
    expect(proxyVariableFor('https://[fd00::5]:6443', env('[fd00::5]:443'))).toBe('HTTPS_PROXY');
  });
});

describe('serverReachWarnings', () => {
  const none = { env: {} };

  it('warns about a loopback server with the k3s fix', () => {
    const [warning, ...rest] = serverReachWarnings({
      server: 'https://127.0.0.1:6443',
      addresses: ['127.0.0.1'],
      ...none,
    });
    expect(rest).toEqual([]);
    expect(warning).toMatch(
      /^server https:\/\/127\.0\.0\.1:6443 is a loopback address: the function cannot reach it/,
    );
    expect(warning).toContain('--tls-san <public address>');
    expect(warning).toContain('--server https://<public address>:6443');
  });

  it('warns about localhost without resolving it', () => {
    expect(serverReachWarnings({ server: 'https://localhost:6443', addresses: [], ...none })[0]).toMatch(
      /is a loopback address/,
    );
  });

  it('names what a hostname resolves to, and points private ranges to VPC mode and a proxy', () => {
    const [warning] = serverReachWarnings({
      server: 'https://k8s.corp.internal:6443',
      addresses: ['10.20.0.5'],
      ...none,
    });
    expect(warning).toMatch(/is a private address \(k8s\.corp\.internal resolves to 10\.20\.0\.5\)/);
    expect(warning).toContain('VPC mode');
    expect(warning).toContain('proxy named for the cluster in the registration file');
  });

  it('says CGNAT and link-local addresses by name', () => {
    expect(
      serverReachWarnings({ server: 'https://100.80.1.1', addresses: ['100.80.1.1'], ...none })[0],
    ).toContain('shared (CGNAT, 100.64.0.0/10)');
    expect(
      serverReachWarnings({ server: 'https://[fe80::1]:6443', addresses: ['fe80::1'], ...none })[0],
    ).toContain('link-local');
  });

  it('says nothing for a public server reached directly', () => {
    expect(
      serverReachWarnings({ server: 'https://34.90.1.2:443', addresses: ['34.90.1.2'], ...none }),
    ).toEqual([]);
    expect(
      serverReachWarnings({
        server: 'https://api.example.com',
        addresses: ['34.90.1.2', '2600:1900::1'],
        ...none,
      }),
    ).toEqual([]);
    expect(serverReachWarnings({ server: 'not a url', addresses: [], ...none })).toEqual([]);
  });

  it('warns about the proxy of the environment and of the admin kubeconfig, never showing their credentials', () => {
    // Generated here: nothing credential-shaped is committed.
    const [envPass, adminPass] = [randomBytes(9).toString('hex'), randomBytes(9).toString('hex')];
    const warnings = serverReachWarnings({
      server: 'https://34.90.1.2:443',
      addresses: ['34.90.1.2'],
      env: { HTTPS_PROXY: `http://opuser:${envPass}@proxy.corp:3128` },
      kubeconfigProxyUrl: `http://admin:${adminPass}@jump.corp:8080`,
    });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /through a proxy \(HTTPS_PROXY=http:\/\/proxy\.corp:3128, not bypassed by NO_PROXY\)/,
    );
    expect(warnings[1]).toMatch(
      /admin kubeconfig reaches .* through its proxy-url \(http:\/\/jump\.corp:8080\)/,
    );
    for (const secret of [envPass, adminPass, 'opuser', 'admin:'])
      expect(warnings.join('\n')).not.toContain(secret);
  });

  it('shows a proxy URL as scheme, host and port', () => {
    expect(proxyShown('http://u:p@proxy:3128/path')).toBe('http://proxy:3128');
    expect(proxyShown('::')).toBe('(unparsable proxy URL)');
  });

  it('never shows what precedes the last @, even where the URL parser reads it as host and port', () => {
    // A password left unencoded: up to its first / ? # or \ the parser takes user and password for the
    // host and the port, so a numeric start of the password would be shown. Generated here.
    const digits = String(10_000 + (randomBytes(2).readUInt16BE() % 50_000));
    const shown = ['/', '?', '#', '\\'].map((cut) =>
      proxyShown(`http://opuser:${digits}${cut}x@proxy.corp:3128`),
    );
    shown.push(proxyShown(`opuser:${digits}x@proxy.corp:3128`));
    expect(shown).toEqual(Array(5).fill('http://proxy.corp:3128'));
  });
});

describe('serverWarnings', () => {
  it('resolves a name and warns by what it resolves to; an unresolved name gives no warning', async () => {
    const resolve = async (host: string) => (host === 'lab.example.net' ? ['192.168.50.2'] : []);
    expect(await serverWarnings('https://lab.example.net:6443', { env: {}, resolve })).toEqual([
      expect.stringContaining('lab.example.net resolves to 192.168.50.2'),
    ]);
    expect(await serverWarnings('https://gone.example.net:6443', { env: {}, resolve })).toEqual([]);
  });

  it('does not resolve an IP address or localhost', async () => {
    const resolve = async (): Promise<string[]> => {
      throw new Error('must not resolve');
    };
    expect(await serverWarnings('https://127.0.0.1:6443', { env: {}, resolve })).toHaveLength(1);
    expect(await serverWarnings('https://localhost:6443', { env: {}, resolve })).toHaveLength(1);
    expect(await serverWarnings('https://8.8.8.8', { env: {}, resolve })).toEqual([]);
  });
});
