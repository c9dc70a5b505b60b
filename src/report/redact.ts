/**
 * Keeps secret material out of everything cred-courier says. Every minted value and every kubeconfig
 * credential is registered here the moment it is known; every log line and error text passes through
 * `scrub` on the way out.
 */
const MIN_SECRET_LENGTH = 8;
export const REDACTED = '[redacted]';

export class Redactor {
  private readonly values = new Set<string>();
  /** `values` longest first, so a secret that contains another registered one is replaced whole. */
  private longestFirst: string[] | undefined;

  /** Registers secret strings, and their base64 forms, which is how they sit in Secrets and headers. */
  add(...secrets: readonly string[]): void {
    for (const secret of secrets) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      this.values.add(secret);
      this.values.add(Buffer.from(secret).toString('base64'));
      this.longestFirst = undefined;
    }
  }

  /** Every registered value (and its base64 form): what a leak scan looks for in captured output. */
  registered(): readonly string[] {
    return [...this.values];
  }

  scrub(text: string): string {
    let out = text;
    // Sorted once per change, not per call: a fleet's run registers thousands of values and scrubs every
    // string of every log line.
    this.longestFirst ??= [...this.values].sort((a, b) => b.length - a.length);
    for (const value of this.longestFirst) {
      if (out.includes(value)) out = out.replaceAll(value, REDACTED);
    }
    return out;
  }

  /** Scrubs every string inside a value (strings themselves, not their JSON escapes). */
  scrubValue<T>(value: T): T {
    if (this.values.size === 0) return value;
    return this.walk(value) as T;
  }

  private walk(value: unknown): unknown {
    if (typeof value === 'string') return this.scrub(value);
    if (Array.isArray(value)) return value.map((item) => this.walk(item));
    if (value instanceof Error) return this.scrub(value.message);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [this.scrub(key), this.walk(item)]),
      );
    }
    return value;
  }
}
