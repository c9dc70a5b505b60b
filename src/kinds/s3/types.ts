/** The `s3` part of a resolved cluster (defaults applied). */
import type { SessionGrant } from '../session/config.ts';

/** What a grant lets the session do under its prefix. */
export type S3Access = 'read' | 'write' | 'readwrite';

export interface S3BucketGrant {
  readonly bucket: string;
  /**
   * Key prefix, normalised to end in `/` (so `reports` never opens `reports-old/`); absent: the whole
   * bucket. No wildcards.
   */
  readonly prefix?: string;
  readonly access: S3Access;
}

/** One S3 grant: an STS session limited to some buckets and prefixes, delivered as one Opaque Secret. */
export interface S3Grant extends SessionGrant {
  readonly buckets: readonly S3BucketGrant[];
  /** KMS keys the objects are encrypted with; kms actions are granted on these keys only. */
  readonly kmsKeyArns?: readonly string[];
}
