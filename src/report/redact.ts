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

/** What `add` registers for one secret: it, its JSON-escaped form, and their base64 forms. */
function formsOf(secret: string): string[] {
  if (secret.length < MIN_SECRET_LENGTH) return [];
  const escaped = JSON.stringify(secret).slice(1, -1);
  return (escaped === secret ? [secret] : [secret, escaped]).flatMap((form) => [
    form,
    Buffer.from(form).toString('base64'),
    ...alignedBase64(form),
  ]);
}

/** Values that may appear in a scrubbed text only through a replacement: any with a character of it. */
const touchesReplacement = (value: string) => /[[\]]/.test(value) || REDACTED.includes(value);

export class Redactor {
  private readonly values = new Set<string>();
  /** What this redactor also knows: a scoped one's run-wide redactor. */
  private readonly parent: Redactor | undefined;
  /** Where a scope also registers what it learns, when asked to. */
  private readonly reportTo: Redactor | undefined;
  /**
   * `values` by their first MIN_SECRET_LENGTH characters, with their rank longest first (so a secret that
   * contains another registered one is replaced whole): a scrub looks up each position of its text
   * instead of searching the text for every value, which made a scrub's cost grow with the fleet (a run
   * registers some 40 values per cluster).
   */
  private index: { byPrefix: Map<string, [string, number][]>; always: [string, number][] } | undefined;

  constructor(scope?: { readonly parent: Redactor; readonly report: boolean }) {
    this.parent = scope?.parent;
    this.reportTo = scope?.report ? scope.parent : undefined;
  }

  /**
   * A redactor for one cluster's turn: it scrubs with this one's values and its own, and what it learns
   * (the cluster's credentials, its rendered Secrets) goes with it when the turn ends, so a run does not
   * keep every cluster's secrets to its end. `report` registers them with this one too, for a caller
   * that passed its own redactor to scrub or scan captured output with afterwards.
   */
  scoped(options: { readonly report: boolean }): Redactor {
    return new Redactor({ parent: this, report: options.report });
  }

  /**
   * Registers secret strings, and their base64 forms, which is how they sit in Secrets and headers: the
   * whole encoding, and the part of it that stays the same at any position inside a larger blob. A
   * secret with characters JSON escapes is registered escaped too (inside credential-process.json, a
   * docker config, an apiserver's JSON answer).
   */
  add(...secrets: readonly string[]): void {
    for (const secret of secrets) this.register(...formsOf(secret));
  }

  /**
   * Stops scrubbing secrets registered with `add` once nothing can say them any more (a minted
   * credential after the last cluster that receives it): a run need not keep every scope's secrets to
   * its end. What a scope reported to this one stays: it was asked for to scan output afterwards.
   */
  forget(...secrets: readonly string[]): void {
    for (const secret of secrets)
      for (const form of formsOf(secret)) if (this.values.delete(form)) this.index = undefined;
  }

  /**
   * Registers the values of a Secret's `data` as written (base64), each before it is sent; a value whose
   * plain form holds a registered secret (a credentials file, a docker config) is registered plain too.
   * Plain values without one (a region) stay readable.
   */
  addEncoded(...encoded: readonly string[]): void {
    for (const value of encoded) {
      // The same data goes to every namespace of a target: one set lookup after the first.
      if (this.knows(value)) continue;
      this.register(value);
      const plain = Buffer.from(value, 'base64').toString('utf8');
      if (this.scrub(plain) !== plain) this.add(plain);
    }
  }

  /** Every registered value (and its base64 forms): what a leak scan looks for in captured output. */
  registered(): readonly string[] {
    return [...new Set([...(this.parent?.registered() ?? []), ...this.values])];
  }

  private knows(value: string): boolean {
    return this.values.has(value) || (this.parent?.knows(value) ?? false);
  }

  private get size(): number {
    return this.values.size + (this.parent?.size ?? 0);
  }

  /** This redactor's values the text holds (and those a replacement could make appear), with ranks. */
  private found(text: string, depth: number, into: Map<string, [number, number, number]>): void {
    this.parent?.found(text, depth - 1, into);
    const { byPrefix, always } = this.indexed();
    for (const [value, rank] of always) into.set(value, [value.length, depth, rank]);
    for (let at = 0; at + MIN_SECRET_LENGTH <= text.length; at++) {
      for (const [value, rank] of byPrefix.get(text.slice(at, at + MIN_SECRET_LENGTH)) ?? [])
        if (!into.has(value) && text.startsWith(value, at)) into.set(value, [value.length, depth, rank]);
    }
  }

  scrub(text: string): string {
    if (this.size === 0) return text;
    // Longest first (a run-wide value before a scope's of the same length): replacing the values the
    // text holds in that order is the same as trying every registered value in it.
    const found = new Map<string, [number, number, number]>();
    this.found(text, 0, found);
    let out = text;
    const order = [...found].sort(([, a], [, b]) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
    for (const [value] of order) {
      if (out.includes(value)) out = out.replaceAll(value, REDACTED);
    }
    return out;
  }

  /** Sorted and indexed once per change, not per call: every string of every log line is scrubbed. */
  private indexed(): NonNullable<Redactor['index']> {
    if (this.index) return this.index;
    const byPrefix = new Map<string, [string, number][]>();
    const always: [string, number][] = [];
    [...this.values]
      .sort((a, b) => b.length - a.length)
      .forEach((value, rank) => {
        if (touchesReplacement(value)) always.push([value, rank]);
        const prefix = value.slice(0, MIN_SECRET_LENGTH);
        const list = byPrefix.get(prefix);
        if (list) list.push([value, rank]);
        else byPrefix.set(prefix, [[value, rank]]);
      });
    this.index = { byPrefix, always };
    return this.index;
  }

  /** Scrubs every string inside a value (strings themselves, not their JSON escapes). */
  scrubValue<T>(value: T): T {
    if (this.size === 0) return value;
    return this.walk(value) as T;
  }

  private register(...values: readonly string[]): void {
    for (const value of values) {
      if (value.length < MIN_SECRET_LENGTH || this.knows(value)) continue;
      this.values.add(value);
      this.index = undefined;
      this.reportTo?.register(value);
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
