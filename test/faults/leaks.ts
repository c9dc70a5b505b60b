/**
 * The leak scan: everything the tests captured (log lines, error messages, JSON reports, CLI output)
 * against every secret value known (what the run's Redactor registered, kubeconfig tokens and keys the
 * tests made, credentials read back from delivered Secrets). A hit names the source and the first
 * characters of the value only.
 */
import type { Redactor } from '../../src/report/redact.ts';

/** Values shorter than the Redactor's own minimum are not secrets it could hide either. */
const MIN_VALUE_LENGTH = 8;

export interface LeakScanResult {
  readonly sources: number;
  readonly lines: number;
  readonly values: number;
  readonly hits: readonly string[];
}

export class LeakScan {
  private readonly texts: { source: string; text: string }[] = [];
  private readonly values = new Set<string>();

  /** Output to scan, e.g. a run's log lines or a CLI's stderr. */
  text(source: string, text: string | readonly string[]): void {
    this.texts.push({ source, text: typeof text === 'string' ? text : text.join('\n') });
  }

  /** Secret values: each as given and base64-encoded (how it sits in Secrets and kubeconfigs). */
  secret(...values: readonly (string | undefined)[]): void {
    for (const value of values) {
      if (!value || value.length < MIN_VALUE_LENGTH) continue;
      this.values.add(value);
      this.values.add(Buffer.from(value).toString('base64'));
    }
  }

  /** Every value a run's Redactor registered. */
  redactor(redactor: Redactor): void {
    for (const value of redactor.registered()) if (value.length >= MIN_VALUE_LENGTH) this.values.add(value);
  }

  /** Credentials read back from a delivered Secret's data (base64 values, decoded and as stored). */
  secretData(data: Readonly<Record<string, string>> | undefined, keys: readonly string[]): void {
    for (const key of keys) {
      const stored = data?.[key];
      if (!stored) continue;
      const decoded = Buffer.from(stored, 'base64').toString('utf8');
      if (key === '.dockerconfigjson') {
        const auths = (JSON.parse(decoded) as { auths: Record<string, { password: string; auth: string }> })
          .auths;
        for (const entry of Object.values(auths)) this.secret(entry.password, entry.auth);
      } else {
        this.secret(decoded);
      }
    }
  }

  result(): LeakScanResult {
    const hits: string[] = [];
    let lines = 0;
    for (const { source, text } of this.texts) {
      lines += text.split('\n').length;
      for (const value of this.values) {
        if (text.includes(value)) hits.push(`${source}: ${value.slice(0, 4)}… (${value.length} chars)`);
      }
    }
    return { sources: this.texts.length, lines, values: this.values.size, hits };
  }
}
