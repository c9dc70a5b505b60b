/**
 * Keeps secret material out of everything cred-courier says. Every minted value and every kubeconfig
 * credential is registered here the moment it is known, and every rendered Secret's `data` before it is
 * sent; every log line and error text passes through `scrub` on the way out (before any cut).
 */
const MIN_SECRET_LENGTH = 8;
export const REDACTED = '[redacted]';

/**
 * The parts of base64(secret) that are the same wherever the secret sits inside a larger encoded blob
 * (a token inside `.dockerconfigjson`, a key inside `credentials`): for each of the three byte offsets
 * modulo 3, the characters whose 6 bits all come from the secret. Characters that mix in bytes before
 * or after it differ from blob to blob and are left out.
 */
function alignedBase64(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const variants: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const first = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    variants.push(encoded.slice(first, end));
  }
  return variants;
}

export class Redactor {
  private readonly values = new Set<string>();
  /** `values` longest first, so a secret that contains another registered one is replaced whole. */
  private longestFirst: string[] | undefined;

  /**
   * Registers secret strings, and their base64 forms, which is how they sit in Secrets and headers: the
   * whole encoding, and the part of it that stays the same at any position inside a larger blob. A
   * secret with characters JSON escapes is registered escaped too (inside credential-process.json, a
   * docker config, an apiserver's JSON answer).
   */
  add(...secrets: readonly string[]): void {
    for (const secret of secrets) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      const escaped = JSON.stringify(secret).slice(1, -1);
      for (const form of escaped === secret ? [secret] : [secret, escaped]) {
        this.register(form, Buffer.from(form).toString('base64'), ...alignedBase64(form));
      }
    }
  }

  /**
   * Registers the values of a Secret's `data` as written (base64), each before it is sent; a value whose
   * plain form holds a registered secret (a credentials file, a docker config) is registered plain too.
   * Plain values without one (a region) stay readable.
   */
  addEncoded(...encoded: readonly string[]): void {
    for (const value of encoded) {
      // The same data goes to every namespace of a target: one set lookup after the first.
      if (this.values.has(value)) continue;
      this.register(value);
      const plain = Buffer.from(value, 'base64').toString('utf8');
      if (this.scrub(plain) !== plain) this.add(plain);
    }
  }

  /** Every registered value (and its base64 forms): what a leak scan looks for in captured output. */
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

  private register(...values: readonly string[]): void {
    for (const value of values) {
      if (value.length < MIN_SECRET_LENGTH || this.values.has(value)) continue;
      this.values.add(value);
      this.longestFirst = undefined;
    }
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
