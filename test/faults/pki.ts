/**
 * Certificates for fault tests, made with openssl at test time into a temporary folder: a serving
 * certificate from a fresh CA no kubeconfig trusts, a serving certificate from a rig cluster's own CA
 * (so a TLS-terminating proxy is trusted like the apiserver it stands in front of), and client
 * certificates from a rig cluster's CA, including expired ones.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  /** PEM of the certificate. */
  readonly cert: string;
  /** PEM of the private key. */
  readonly key: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A temporary folder for one set of certificates; `dispose` removes it. */
export class Pki {
  readonly dir = mkdtempSync(join(tmpdir(), 'cred-courier-faults-'));
  private serial = 0;

  private path(file: string): string {
    return join(this.dir, file);
  }

  /** A self-signed CA of its own: what an impostor (or a misconfigured load balancer) presents. */
  foreignCa(name = 'foreign'): { certFile: string; keyFile: string; cert: string } {
    const certFile = this.path(`${name}-ca.crt`);
    const keyFile = this.path(`${name}-ca.key`);
    openssl([
      'req',
      '-x509',
      ...EC,
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=${name}-ca`,
    ]);
    return { certFile, keyFile, cert: readFileSync(certFile, 'utf8') };
  }

  /**
   * A serving certificate signed by the CA given, for 127.0.0.1 and localhost unless `names` says
   * otherwise (`DNS:elsewhere.invalid`); `days: -1` makes it expired from the start.
   */
  servingCert(
    ca: { certFile: string; keyFile: string },
    options: { readonly names?: string; readonly days?: number } = {},
  ): KeyPair {
    const base = this.path(`serving-${++this.serial}`);
    openssl(['req', ...EC, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', '/CN=fault-proxy']);
    writeFileSync(
      `${base}.ext`,
      `subjectAltName=${options.names ?? 'IP:127.0.0.1,DNS:localhost'}\nextendedKeyUsage=serverAuth\n`,
    );
    openssl([
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      String(1000 + this.serial),
      '-out',
      `${base}.crt`,
      '-days',
      String(options.days ?? 2),
      '-extfile',
      `${base}.ext`,
    ]);
    return { cert: readFileSync(`${base}.crt`, 'utf8'), key: readFileSync(`${base}.key`, 'utf8') };
  }

  /**
   * A client certificate for user `commonName` in `groups`, signed by the CA given. `days: -1` makes
   * one whose notAfter is a day before its notBefore (now): expired from the moment it is issued.
   */
  clientCert(
    ca: { certFile: string; keyFile: string },
    options: { readonly commonName: string; readonly groups?: readonly string[]; readonly days: number },
  ): KeyPair {
    const base = this.path(`client-${++this.serial}`);
    const subject = `/CN=${options.commonName}${(options.groups ?? []).map((g) => `/O=${g}`).join('')}`;
    openssl(['req', ...EC, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', subject]);
    writeFileSync(`${base}.ext`, 'extendedKeyUsage=clientAuth\n');
    openssl([
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      String(1000 + this.serial),
      '-out',
      `${base}.crt`,
      '-days',
      String(options.days),
      '-extfile',
      `${base}.ext`,
    ]);
    return { cert: readFileSync(`${base}.crt`, 'utf8'), key: readFileSync(`${base}.key`, 'utf8') };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
