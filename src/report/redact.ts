/**
 * Keeps secret material out of everything cred-courier says. Every minted value and every kubeconfig
 * credential is registered here the moment it is known; every log line and error text passes through
 * `scrub` on the way out.
 */
const MIN_SECRET_LENGTH = 8;
export const REDACTED = '[redacted]';

export class Redactor {
  private readonly values = new Set<string>();

  /** Registers secret strings, and their base64 forms, which is how they sit in Secrets and headers. */
  add(...secrets: readonly string[]): void {
    for (const secret of secrets) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      this.values.add(secret);
      this.values.add(Buffer.from(secret).toString('base64'));
    }
  }

  scrub(text: string): string {
    let out = text;
    for (const value of this.values) if (out.includes(value)) out = out.replaceAll(value, REDACTED);
    return out;
  }

  /** Scrubs every string inside a JSON-able value. */
  scrubValue<T>(value: T): T {
    if (this.values.size === 0) return value;
    return JSON.parse(this.scrub(JSON.stringify(value ?? null))) as T;
  }
}
