/**
 * Bad input at scale. Registration files: hundreds of malformed ones generated with fast-check (wrong
 * types, missing fields, unknown keys, out-of-range values, hostile strings, garbage, huge inputs), each
 * rejected by `parseConfig` with a ConfigError whose every issue names a path, no other exception, no
 * stack trace, no raw control or bidi character, in bounded time. Kubeconfigs: malformed ones stored in
 * moto's Secrets Manager and delivered to through the real run path and the CLI: each refused with its
 * class and a message naming the cluster and the field, the healthy cluster beside them delivered.
 */
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import type { FailureClass } from '../../src/report/classify.ts';
import type { RunResult } from '../../src/run/types.ts';
import { removeTempFiles, runCli, STACK_FRAME, tempFile } from '../faults/cli.ts';
import { LeakScan } from '../faults/leaks.ts';
import { Pki } from '../faults/pki.ts';
import { type Section, writeSections } from '../faults/report.ts';
import { capturedRun, configOf, registerCluster } from './fixtures.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

// ---------------------------------------------------------------------------------------------------
// Registration files
// ---------------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = readonly (string | number)[];

/** A valid file using every section; each generated case breaks it in one way (or several). */
const BASE: Json = {
  settings: {
    concurrency: 4,
    requestConcurrency: 4,
    requestTimeoutSeconds: 10,
    clusterDeadlineSeconds: 60,
    kubeconfigCacheSeconds: 300,
    controlNamespace: 'cred-courier',
    s3IntervalMinutes: 15,
  },
  defaults: { namespaces: { exclude: ['*-sandbox'] }, ecr: { serviceAccounts: ['default'] } },
  clusters: [
    {
      name: 'gke-prod',
      kubeconfigSecret: 'cred-courier/clusters/gke-prod',
      namespaces: { names: ['app', 'team-*'] },
      ecr: {
        secretName: 'ecr-pull',
        registries: [
          { accountId: '111122223333', region: 'eu-west-1', roleArn: 'arn:aws:iam::111122223333:role/pull' },
        ],
        repositories: ['app/api'],
      },
      s3: [
        {
          secretName: 'reports',
          roleArn: 'arn:aws:iam::111122223333:role/s3',
          region: 'eu-west-1',
          durationSeconds: 3600,
          buckets: [{ bucket: 'acme-reports', prefix: 'reports', access: 'read' }],
        },
      ],
      aws: [
        {
          secretName: 'orders',
          roleArn: 'arn:aws:iam::111122223333:role/orders',
          region: 'eu-west-1',
          policy: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['dynamodb:GetItem'],
                Resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
              },
            ],
          },
          sessionTags: { team: 'orders' },
        },
      ],
    },
  ],
};

const C = ['clusters', 0] as const;
const REGISTRY = [...C, 'ecr', 'registries', 0] as const;
const GRANT = [...C, 's3', 0] as const;
const BUCKET = [...GRANT, 'buckets', 0] as const;
const AWS_GRANT = [...C, 'aws', 0] as const;
const STATEMENT = [...AWS_GRANT, 'policy', 'Statement', 0] as const;

/**
 * Broken AWS grants, each with the path its message must name: malformed policies, policies too long for
 * STS, wildcard and malformed roles, bad session tags, a scope that is not written.
 */
const AWS_BAD: readonly (readonly [Path, Json | undefined, string])[] = [
  [[...AWS_GRANT, 'roleArn'], 'arn:aws:iam::111122223333:role/*', 'clusters[0].aws[0].roleArn'],
  [[...AWS_GRANT, 'roleArn'], 'arn:aws:iam::*:role/orders', 'clusters[0].aws[0].roleArn'],
  [[...AWS_GRANT, 'roleArn'], '*', 'clusters[0].aws[0].roleArn'],
  [[...AWS_GRANT, 'roleArn'], 'arn:aws:iam::111122223333:role/team-?', 'clusters[0].aws[0].roleArn'],
  [[...AWS_GRANT, 'policy'], '{"Version": "2012-10-17", "Statement": [', 'clusters[0].aws[0].policy'],
  [[...AWS_GRANT, 'policy'], 'not json at all', 'clusters[0].aws[0].policy'],
  [[...AWS_GRANT, 'policy'], 42, 'clusters[0].aws[0].policy'],
  [[...AWS_GRANT, 'policy'], [], 'clusters[0].aws[0].policy'],
  [[...AWS_GRANT, 'policy', 'Version'], '2008-10-17', 'clusters[0].aws[0].policy.Version'],
  [[...AWS_GRANT, 'policy', 'Version'], undefined, 'clusters[0].aws[0].policy.Version'],
  [[...AWS_GRANT, 'policy', 'Statement'], [], 'clusters[0].aws[0].policy.Statement'],
  [[...AWS_GRANT, 'policy', 'Statement'], undefined, 'clusters[0].aws[0].policy.Statement'],
  [[...AWS_GRANT, 'policy', 'Statemnt'], [], 'clusters[0].aws[0].policy.Statemnt'],
  [[...STATEMENT, 'Effect'], 'allow', 'clusters[0].aws[0].policy.Statement[0].Effect'],
  [[...STATEMENT, 'Effect'], undefined, 'clusters[0].aws[0].policy.Statement[0].Effect'],
  [[...STATEMENT, 'Action'], undefined, 'clusters[0].aws[0].policy.Statement[0]'],
  [[...STATEMENT, 'Action'], 'GetItem', 'clusters[0].aws[0].policy.Statement[0].Action'],
  [[...STATEMENT, 'Action'], ['dynamodb:GetItem', 7], 'clusters[0].aws[0].policy.Statement[0].Action[1]'],
  [[...STATEMENT, 'NotAction'], 'iam:*', 'clusters[0].aws[0].policy.Statement[0].NotAction'],
  [[...STATEMENT, 'Resource'], 'orders', 'clusters[0].aws[0].policy.Statement[0].Resource'],
  [[...STATEMENT, 'Resource'], [], 'clusters[0].aws[0].policy.Statement[0].Resource'],
  [[...STATEMENT, 'NotResource'], '*', 'clusters[0].aws[0].policy.Statement[0].NotResource'],
  [[...STATEMENT, 'Principal'], '*', 'clusters[0].aws[0].policy.Statement[0].Principal'],
  [[...STATEMENT, 'Condition'], 'aws:SourceIp', 'clusters[0].aws[0].policy.Statement[0].Condition'],
  [
    [...STATEMENT, 'Condition'],
    { StringEqualz: { 'aws:SourceVpc': 'vpc-1' } },
    'clusters[0].aws[0].policy.Statement[0].Condition.StringEqualz',
  ],
  [
    [...STATEMENT, 'Condition'],
    { StringEquals: { nokey: 'x' } },
    'clusters[0].aws[0].policy.Statement[0].Condition.StringEquals.nokey',
  ],
  [
    [...STATEMENT, 'Condition'],
    { Bool: { 'aws:SecureTransport': [{ a: 1 }] } },
    'clusters[0].aws[0].policy.Statement[0].Condition.Bool["aws:SecureTransport"][0]',
  ],
  [[...STATEMENT, 'Sid'], 'has space', 'clusters[0].aws[0].policy.Statement[0].Sid'],
  [
    [...STATEMENT, 'Resource'],
    Array.from({ length: 60 }, (_, i) => `arn:aws:dynamodb:eu-west-1:111122223333:table/orders-${i}`),
    'clusters[0].aws[0].policy',
  ],
  [
    [...AWS_GRANT, 'policy'],
    JSON.stringify({
      Version: '2012-10-17',
      Statement: Array.from({ length: 30 }, (_, i) => ({
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: `arn:aws:sqs:eu-west-1:111122223333:queue-${i}`,
      })),
    }),
    'clusters[0].aws[0].policy',
  ],
  [
    [...AWS_GRANT, 'policyArns'],
    Array.from({ length: 11 }, (_, i) => `arn:aws:iam::111122223333:policy/p${i}`),
    'clusters[0].aws[0].policyArns',
  ],
  [[...AWS_GRANT, 'policyArns'], ['arn:aws:iam::111122223333:policy/*'], 'clusters[0].aws[0].policyArns[0]'],
  [
    [...AWS_GRANT, 'policyArns'],
    ['arn:aws:iam::111122223333:policy/a', 'arn:aws:iam::111122223333:policy/a'],
    'clusters[0].aws[0].policyArns[1]',
  ],
  [[...AWS_GRANT, 'sessionTags'], { 'aws:team': 'x' }, 'clusters[0].aws[0].sessionTags["aws:team"]'],
  [[...AWS_GRANT, 'sessionTags'], { 'bad*key': 'x' }, 'clusters[0].aws[0].sessionTags["bad*key"]'],
  [[...AWS_GRANT, 'sessionTags'], { team: 7 }, 'clusters[0].aws[0].sessionTags.team'],
  [[...AWS_GRANT, 'sessionTags'], { team: 'v'.repeat(257) }, 'clusters[0].aws[0].sessionTags.team'],
  [
    [...AWS_GRANT, 'sessionTags'],
    { k: 'a', ['k'.repeat(129)]: 'b' },
    `clusters[0].aws[0].sessionTags.${'k'.repeat(129)}`,
  ],
  [[...AWS_GRANT, 'sessionTags'], { Team: 'a', team: 'b' }, 'clusters[0].aws[0].sessionTags.team'],
  [
    [...AWS_GRANT, 'sessionTags'],
    Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v'])),
    'clusters[0].aws[0].sessionTags',
  ],
  [[...AWS_GRANT, 'sessionTags'], ['team'], 'clusters[0].aws[0].sessionTags'],
  [[...AWS_GRANT, 'externalId'], 'x', 'clusters[0].aws[0].externalId'],
  [[...AWS_GRANT, 'externalId'], 'has space', 'clusters[0].aws[0].externalId'],
  [[...AWS_GRANT, 'policy'], undefined, 'clusters[0].aws[0]'],
  [[...AWS_GRANT, 'fullRole'], true, 'clusters[0].aws[0].fullRole'],
  [[...AWS_GRANT, 'fullRole'], 'yes', 'clusters[0].aws[0].fullRole'],
  [[...AWS_GRANT, 'secretName'], 'reports', 'clusters[0].aws[0].secretName'],
  [[...AWS_GRANT, 'secretName'], 'ecr-pull', 'clusters[0].aws[0].secretName'],
  [[...AWS_GRANT, 'durationSeconds'], 2000, 'clusters[0].aws[0].durationSeconds'],
];

type Shape = 'string' | 'integer' | 'boolean' | 'list' | 'mapping';

/** Fields and the shape each must have. */
const FIELDS: readonly (readonly [Path, Shape])[] = [
  [['settings'], 'mapping'],
  [['settings', 'concurrency'], 'integer'],
  [['settings', 'requestTimeoutSeconds'], 'integer'],
  [['settings', 'clusterDeadlineSeconds'], 'integer'],
  [['settings', 'controlNamespace'], 'string'],
  [['settings', 's3IntervalMinutes'], 'integer'],
  [['defaults'], 'mapping'],
  [['defaults', 'ecr', 'serviceAccounts'], 'list'],
  [['defaults', 'namespaces', 'exclude'], 'list'],
  [['clusters'], 'list'],
  [[...C], 'mapping'],
  [[...C, 'name'], 'string'],
  [[...C, 'kubeconfigSecret'], 'string'],
  [[...C, 'namespaces'], 'mapping'],
  [[...C, 'namespaces', 'names'], 'list'],
  [[...C, 'allowInsecureSkipTlsVerify'], 'boolean'],
  [[...C, 'ecr'], 'mapping'],
  [[...C, 'ecr', 'registries'], 'list'],
  [[...REGISTRY, 'region'], 'string'],
  [[...REGISTRY, 'accountId'], 'string'],
  [[...REGISTRY, 'roleArn'], 'string'],
  [[...C, 's3'], 'list'],
  [[...GRANT, 'durationSeconds'], 'integer'],
  [[...GRANT, 'longSessions'], 'boolean'],
  [[...GRANT, 'buckets'], 'list'],
  [[...BUCKET, 'bucket'], 'string'],
  [[...BUCKET, 'access'], 'string'],
  [[...C, 'aws'], 'list'],
  [[...AWS_GRANT, 'sessionTags'], 'mapping'],
  [[...AWS_GRANT, 'fullRole'], 'boolean'],
  [[...AWS_GRANT, 'policyArns'], 'list'],
  [[...STATEMENT, 'Effect'], 'string'],
];

/** Fields that must be present (no default fills them). */
const REQUIRED: readonly Path[] = [
  ['clusters'],
  [...C, 'name'],
  [...C, 'kubeconfigSecret'],
  [...C, 'namespaces'],
  [...C, 'namespaces', 'names'],
  [...C, 'ecr', 'secretName'],
  [...C, 'ecr', 'registries'],
  [...REGISTRY, 'region'],
  [...GRANT, 'secretName'],
  [...GRANT, 'roleArn'],
  [...GRANT, 'region'],
  [...GRANT, 'buckets'],
  [...BUCKET, 'bucket'],
  [...BUCKET, 'access'],
  [...AWS_GRANT, 'secretName'],
  [...AWS_GRANT, 'roleArn'],
  [...AWS_GRANT, 'region'],
];

/** Mappings that take only known keys. */
const MAPPINGS: readonly Path[] = [
  [],
  ['settings'],
  ['defaults'],
  ['defaults', 'ecr'],
  ['defaults', 'namespaces'],
  [...C],
  [...C, 'namespaces'],
  [...C, 'ecr'],
  [...REGISTRY],
  [...GRANT],
  [...BUCKET],
  [...AWS_GRANT],
  [...AWS_GRANT, 'policy'],
  [...STATEMENT],
];

/** Values out of range, or breaking a field's rule. */
const OUT_OF_RANGE: readonly (readonly [Path, Json])[] = [
  [['settings', 'concurrency'], 0],
  [['settings', 'concurrency'], 257],
  [['settings', 'concurrency'], -1],
  [['settings', 'concurrency'], 1.5],
  [['settings', 'concurrency'], 1e300],
  [['settings', 'requestConcurrency'], 65],
  [['settings', 'requestTimeoutSeconds'], 0],
  [['settings', 'requestTimeoutSeconds'], 121],
  [['settings', 'clusterDeadlineSeconds'], 4],
  [['settings', 'clusterDeadlineSeconds'], 901],
  [['settings', 'kubeconfigCacheSeconds'], -1],
  [['settings', 'kubeconfigCacheSeconds'], 86401],
  [['settings', 's3IntervalMinutes'], 0],
  [['settings', 's3IntervalMinutes'], 61],
  [['settings', 's3IntervalMinutes'], 45],
  [['settings', 'controlNamespace'], 'Cred_Courier'],
  [[...C, 'name'], 'GKE-prod'],
  [[...C, 'name'], 'a'.repeat(64)],
  [[...C, 'name'], '-lead'],
  [[...C, 'name'], ''],
  [[...C, 'kubeconfigSecret'], 'has space'],
  [[...C, 'kubeconfigSecret'], 'x'.repeat(513)],
  [[...C, 'namespaces', 'names', 0], 'Team-A'],
  [[...C, 'namespaces', 'selector'], ''],
  [[...C, 'namespaces', 'selector'], 'env in (prod'],
  [[...C, 'namespaces', 'selector'], 'a<b'],
  [[...C, 'ecr', 'secretName'], 'Bad_Name'],
  [[...C, 'ecr', 'registries'], []],
  [[...C, 'ecr', 'repositories', 0], '*'],
  [[...REGISTRY, 'accountId'], '11112222333'],
  [[...REGISTRY, 'accountId'], '1111222233334'],
  [[...REGISTRY, 'region'], 'eu-west'],
  [[...REGISTRY, 'region'], 'EU-WEST-1'],
  [[...REGISTRY, 'roleArn'], 'arn:aws:iam::1:role/x'],
  [[...REGISTRY, 'roleArn'], 'arn:aws:iam::111122223333:user/x'],
  [[...GRANT, 'durationSeconds'], 899],
  [[...GRANT, 'durationSeconds'], 3601],
  [[...GRANT, 'durationSeconds'], 2000],
  [[...GRANT, 'durationSeconds'], 43201],
  [[...GRANT, 'secretName'], 'ecr-pull'],
  [[...GRANT, 'kmsKeyArns'], ['arn:aws:kms:eu-west-1:111122223333:alias/reports']],
  [[...GRANT, 'mountPath'], 'relative/path'],
  [[...GRANT, 'namespaces'], ['team-sandbox']],
  [[...GRANT, 'buckets'], []],
  [[...BUCKET, 'bucket'], 'ab'],
  [[...BUCKET, 'bucket'], 'A_B'],
  [[...BUCKET, 'bucket'], '192.168.0.1'],
  [[...BUCKET, 'bucket'], 'xn--reports'],
  [[...BUCKET, 'bucket'], 'reports-*'],
  [[...BUCKET, 'prefix'], '/abs'],
  [[...BUCKET, 'prefix'], 'a//b'],
  [[...BUCKET, 'prefix'], 'a/../b'],
  [[...BUCKET, 'prefix'], 'has*wildcard'],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, written as a user would
  [[...BUCKET, 'prefix'], '${aws:username}/'],
  [[...BUCKET, 'prefix'], 'ctl\u0007char'],
  [[...BUCKET, 'access'], 'admin'],
];

/** String fields with a pattern: any hostile string breaks it. */
const PATTERNED: readonly Path[] = [
  ['settings', 'controlNamespace'],
  [...C, 'name'],
  [...C, 'kubeconfigSecret'],
  [...C, 'namespaces', 'names', 0],
  [...C, 'ecr', 'secretName'],
  [...REGISTRY, 'region'],
  [...REGISTRY, 'accountId'],
  [...REGISTRY, 'roleArn'],
  [...GRANT, 'secretName'],
  [...BUCKET, 'bucket'],
  [...AWS_GRANT, 'roleArn'],
  [...AWS_GRANT, 'externalId'],
  [...STATEMENT, 'Action', 0],
  [...STATEMENT, 'Resource'],
];

/** Characters that must never reach a terminal or a log raw: C0/C1 controls, bidi, zero-width, separators. */
const HOSTILE_CHARS = [
  '\u0000',
  '\u0007',
  '\b',
  '\u001b[31m',
  '\r',
  '\n',
  '\t',
  '\u007f',
  '\u0085',
  '\u009b',
  '\u200b',
  '\u200f',
  '\u2028',
  '\u2029',
  '\u202a',
  '\u202e',
  '\u2066',
  '\u2069',
  '\ufeff',
  '\u061c',
];
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_HOSTILE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/;

const clone = (value: Json): Json => structuredClone(value);

/** Sets (or, with `remove`, deletes) the value at `path`, creating mappings on the way. */
function setAt(root: Json, path: Path, value: Json | undefined): Json {
  if (path.length === 0) return value ?? null;
  const copy = clone(root);
  let node = copy as Record<string | number, Json>;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (next === null || typeof next !== 'object') node[segment] = {};
    node = node[segment] as Record<string | number, Json>;
  }
  const last = path.at(-1) as string | number;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    // defineProperty: a key such as __proto__ must become a key, not a prototype.
    Object.defineProperty(node, last, { value, enumerable: true, configurable: true, writable: true });
  }
  return copy;
}

function getAt(root: Json, path: Path): Json | undefined {
  let node: Json | undefined = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, Json>)[segment];
  }
  return node;
}

const toYaml = (value: Json) => stringify(value, { lineWidth: 0 });

const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.string({ maxLength: 12 }), fc.constantFrom(...HOSTILE_CHARS), fc.string({ maxLength: 12 }))
    .map(([a, c, b]) => `${a}${c}${b}`),
  fc.constantFrom(...HOSTILE_CHARS).map((c) => `gke${c}prod`),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a policy variable is one of the hostile strings
  fc.constantFrom('a', '\u202e', 'é', '🙂', '"quoted"', '${x}').map((unit) => unit.repeat(100_000)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter((s) => RAW_HOSTILE.test(s)),
  fc.constant('clusters[0].name (line 1): forged message\n  - another forged issue'),
);

const wrongFor = (shape: Shape): fc.Arbitrary<Json> => {
  const scalars: Record<Shape, fc.Arbitrary<Json>> = {
    string: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true })),
    integer: fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.boolean(),
      fc.constant(null),
      fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
    ),
    boolean: fc.oneof(fc.constantFrom('yes', 'true', 'on', ''), fc.integer(), fc.constant(null)),
    list: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null), fc.constant({ a: 1 })),
    mapping: fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.integer(),
      fc.constant(null),
      fc.constant<Json>(['a']),
      fc.boolean(),
    ),
  };
  const collections = fc.oneof(
    fc.array(fc.integer(), { maxLength: 3 }) as fc.Arbitrary<Json>,
    fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.integer(), {
      maxKeys: 2,
    }) as fc.Arbitrary<Json>,
  );
  return shape === 'list' || shape === 'mapping' ? scalars[shape] : fc.oneof(scalars[shape], collections);
};

interface ConfigCase {
  readonly category: string;
  readonly text: string;
}

const yamlCase = (category: string) => (value: Json) => ({ category, text: toYaml(value) });

const KNOWN_KEYS = new Set(['settings', 'defaults', 'clusters']);

const CATEGORIES: readonly { name: string; runs: number; arbitrary: fc.Arbitrary<ConfigCase> }[] = [
  {
    name: 'wrong type',
    runs: 60,
    arbitrary: fc
      .constantFrom(...FIELDS)
      .chain(([path, shape]) => wrongFor(shape).map((value) => setAt(BASE, path, value)))
      .map(yamlCase('wrong type')),
  },
  {
    name: 'missing field',
    runs: 30,
    arbitrary: fc
      .subarray([...REQUIRED], { minLength: 1, maxLength: 3 })
      .map((paths) => paths.reduce<Json>((doc, path) => setAt(doc, path, undefined), BASE))
      .map(yamlCase('missing field')),
  },
  {
    name: 'unknown key',
    runs: 50,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...MAPPINGS),
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 20 }),
          fc.constantFrom('__proto__', 'constructor', 'prototype', 'ecrr', 'namespace', 'Name', 'toString'),
          hostileString.filter((s) => s.length < 1000),
        ),
        fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null)),
      )
      .filter(([path, key]) => {
        const container = getAt(BASE, path);
        const known = path.length === 0 ? KNOWN_KEYS : new Set(Object.keys((container ?? {}) as object));
        // Keys that exist, or that the schema knows but the base leaves out, would not break the file.
        const optional = [
          'selector',
          'repositories',
          'kmsKeyArns',
          'mountPath',
          'longSessions',
          'namespaces',
          'prefix',
          'accountId',
          'roleArn',
          'durationSeconds',
          'allowInsecureSkipTlsVerify',
          'adoptExistingSecrets',
          'ecr',
          's3',
          'exclude',
          'names',
          'secretName',
          'registries',
          'serviceAccounts',
          'requestConcurrency',
          'kubeconfigCacheSeconds',
          'aws',
          'policyArns',
          'externalId',
          'fullRole',
          'Sid',
          'Id',
          'Condition',
          'NotAction',
          'NotResource',
        ];
        return !known.has(key) && !optional.includes(key);
      })
      .map(([path, key, value]) => setAt(BASE, [...path, key], value))
      .map(yamlCase('unknown key')),
  },
  {
    name: 'out of range',
    runs: 70,
    arbitrary: fc
      .constantFrom(...OUT_OF_RANGE)
      .map(([path, value]) => setAt(BASE, path, value))
      .map(yamlCase('out of range')),
  },
  {
    name: 'hostile string',
    runs: 60,
    arbitrary: fc
      .tuple(fc.constantFrom(...PATTERNED), hostileString)
      .map(([path, value]) => setAt(BASE, path, value))
      .map(yamlCase('hostile string')),
  },
  {
    name: 'aws grant',
    runs: 50,
    arbitrary: fc
      .constantFrom(...AWS_BAD)
      .map(([path, value]) => setAt(BASE, path, value))
      .map(yamlCase('aws grant')),
  },
  {
    name: 'garbage text',
    runs: 40,
    arbitrary: fc
      .oneof(
        fc.string({ unit: 'binary', maxLength: 4_000, size: 'max' }),
        fc
          .uint8Array({ maxLength: 4_000, size: 'max' })
          .map((bytes) => Buffer.from(bytes).toString('latin1')),
        fc.string({ maxLength: 200 }).map((s) => `clusters:\n  - ${s}\n\t${s}: [`),
        fc.constantFrom(
          '{',
          '[',
          '&a [*a]',
          '!!binary x',
          '%YAML 9.9\n---\nx',
          'clusters: !!js/function "x"',
          ': :',
          '- - - -',
        ),
      )
      .map((text) => ({ category: 'garbage text', text })),
  },
];

/** Hand-made cases: structure, YAML features and sizes a generator would rarely reach. */
function fixedCases(): ConfigCase[] {
  const cluster = (getAt(BASE, ['clusters', 0]) ?? {}) as Record<string, Json>;
  const many = (count: number, change: (i: number) => Record<string, Json>) =>
    toYaml(
      setAt(
        BASE,
        ['clusters'],
        Array.from({ length: count }, (_, i) => ({ ...cluster, ...change(i) })),
      ),
    );
  const nested = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    .concat(
      Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(',')}]`,
      ),
    )
    .join('\n');
  return [
    { category: 'structure', text: '' },
    { category: 'structure', text: '# only a comment\n' },
    { category: 'structure', text: '---\n---\n' },
    { category: 'structure', text: toYaml(BASE).concat('---\nclusters: []\n') },
    { category: 'structure', text: '[1, 2, 3]' },
    { category: 'structure', text: '"just a string"' },
    { category: 'structure', text: 'clusters: []' },
    { category: 'structure', text: 'clusters: {}' },
    { category: 'structure', text: 'settings: {}\n' },
    { category: 'structure', text: `${toYaml(BASE)}clusters: []\n` },
    { category: 'structure', text: many(2, () => ({})) },
    {
      category: 'structure',
      text: toYaml(BASE).replace('  - name: gke-prod', '  - name: gke-prod\n    name: again'),
    },
    { category: 'structure', text: laughs },
    { category: 'structure', text: `clusters: ${nested}` },
    { category: 'structure', text: `clusters:\n${'  - '.repeat(2_000)}x\n` },
    { category: 'structure', text: '\ufeffclusters: [\u0000]' },
    { category: 'structure', text: 'clusters:\n\t- name: tab' },
    { category: 'huge', text: toYaml(setAt(BASE, [...C, 'name'], 'a'.repeat(5 * 1024 * 1024))) },
    {
      category: 'huge',
      text: toYaml(setAt(BASE, ['settings', 'controlNamespace'], '\u202e'.repeat(2 * 1024 * 1024))),
    },
    { category: 'huge', text: `${toYaml(BASE)}# ${'x'.repeat(5 * 1024 * 1024)}\nbogus: 1\n` },
    {
      category: 'huge',
      text: many(10_000, (i) => ({ name: `c-${i}`, namespaces: { names: ['Bad_Namespace'] } })),
    },
    { category: 'huge', text: many(10_000, () => ({})) },
    { category: 'huge', text: `clusters:\n${'  - {name: x}\n'.repeat(100_000)}` },
  ];
}

/** An issue that names where in the file the problem is: a path, or a line of a syntax error. */
const NAMES_A_PATH =
  /^(line \d+:\d+: |top level( \(line \d+\))?: |(?:[A-Za-z_$][\w$-]*|\[".*?"\])(?:\[\d+\]|\.[A-Za-z_$][\w$-]*|\[".*?"\])*(?: \(line \d+\))?: )/;
/** The summary after the 50 issues shown. */
const MORE = /^… and \d+ more problems$/;

interface CaseResult {
  readonly category: string;
  readonly rejected: boolean;
  readonly problem?: string;
  readonly issues: number;
  readonly ms: number;
  readonly bytes: number;
}

function checkConfig(input: ConfigCase): CaseResult {
  const started = performance.now();
  const base = { category: input.category, bytes: Buffer.byteLength(input.text) };
  try {
    parseConfig(input.text, 'clusters.yaml');
    return { ...base, rejected: false, problem: 'accepted', issues: 0, ms: performance.now() - started };
  } catch (error) {
    const ms = performance.now() - started;
    if (!(error instanceof ConfigError)) {
      return { ...base, rejected: false, problem: `crash: ${String(error).slice(0, 200)}`, issues: 0, ms };
    }
    const issues = error.issues;
    const problems = [
      issues.length === 0 ? 'no issue' : '',
      issues.length > 51 ? `${issues.length} issues` : '',
      ...issues.map((issue, i) =>
        NAMES_A_PATH.test(issue) || (i === issues.length - 1 && MORE.test(issue))
          ? ''
          : `names no path: ${JSON.stringify(issue.slice(0, 120))}`,
      ),
      ...issues.map((issue) =>
        RAW_HOSTILE.test(issue) ? `raw control character: ${JSON.stringify(issue.slice(0, 120))}` : '',
      ),
      STACK_FRAME.test(error.message) ? 'stack trace in the message' : '',
      error.message.length > 100_000 ? `message of ${error.message.length} characters` : '',
      ms > (base.bytes > 1_000_000 || input.category === 'huge' ? 30_000 : 3_000)
        ? `took ${ms.toFixed(0)} ms`
        : '',
    ].filter(Boolean);
    return {
      ...base,
      rejected: true,
      ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
      issues: issues.length,
      ms,
    };
  }
}

// ---------------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------------

const started = Date.now();
const sections: Omit<Section, 'file'>[] = [];
const leaks = new LeakScan();
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

afterAll(() => {
  removeTempFiles();
  if (sections.length === 0) return;
  const [first, ...rest] = sections;
  if (!first) return;
  const durationMs = Date.now() - started;
  writeSections({ ...first, durationMs, leaks: leaks.result() }, ...rest.map((s) => ({ ...s, durationMs })));
});

describe('malformed registration files', () => {
  it(`rejects every one with a ConfigError whose issues each name a path; no crash, no stack, no raw control character (seed ${seed})`, () => {
    // Prepare
    expect(() => parseConfig(toYaml(BASE), 'clusters.yaml')).not.toThrow();
    const cases: ConfigCase[] = [
      ...CATEGORIES.flatMap((category) => fc.sample(category.arbitrary, { numRuns: category.runs, seed })),
      ...fixedCases(),
    ];

    // Act
    const results = cases.map(checkConfig);

    // Assess
    const failures = results
      .map((result, i) => ({ result, input: cases[i]?.text ?? '' }))
      .filter(({ result }) => result.problem)
      .map(
        ({ result, input }) =>
          `${result.category}: ${result.problem} — input ${JSON.stringify(input.slice(0, 200))}`,
      );
    expect(failures.slice(0, 10)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(200);
    const byCategory = new Map<string, CaseResult[]>();
    for (const result of results)
      byCategory.set(result.category, [...(byCategory.get(result.category) ?? []), result]);
    const slowest = results.reduce((a, b) => (b.ms > a.ms ? b : a));
    sections.push({
      id: 'bad-config',
      title: 'Bad registration files',
      generatedAt: new Date().toISOString(),
      durationMs: 0,
      intro: [
        `Malformed files generated with fast-check (seed ${seed}; rerun one with \`FUZZ_SEED=${seed}\`) from a valid file using every section, ` +
          'plus hand-made structural and huge ones, fed to `parseConfig`. Each must raise a `ConfigError` (nothing else) whose every issue names ' +
          'a path (`clusters[0].ecr.registries[0].region (line 14): …`) or a line (`line 3:5: YAML syntax error: …`), with no stack trace, no raw ' +
          'control, bidi or zero-width character (hostile values are quoted and escaped), at most 50 issues plus a summary, within 3 s (30 s for the huge ones).',
      ],
      tables: [
        {
          headers: [
            'category',
            'tried',
            'rejected as required',
            'issues per file (min–max)',
            'slowest (ms)',
            'largest input',
          ],
          rows: [
            ...[...byCategory].map(([category, list]) => [
              category,
              String(list.length),
              String(list.filter((r) => r.rejected && !r.problem).length),
              `${Math.min(...list.map((r) => r.issues))}–${Math.max(...list.map((r) => r.issues))}`,
              Math.max(...list.map((r) => r.ms)).toFixed(0),
              `${(Math.max(...list.map((r) => r.bytes)) / 1024).toFixed(1)} KiB`,
            ]),
            [
              '**total**',
              String(results.length),
              `**${results.filter((r) => r.rejected && !r.problem).length}**`,
              '',
              slowest.ms.toFixed(0),
              '',
            ],
          ],
        },
      ],
      notes: [
        `Crashes (an exception other than ConfigError): ${results.filter((r) => r.problem?.startsWith('crash')).length}. Accepted: ${results.filter((r) => r.problem === 'accepted').length}.`,
        'Not among the cases, found while writing them: `namespaces: { names: [] }` without a selector is accepted. The cluster then selects no namespace, and a run prunes what it delivered there before; the loader says "selects nothing" only when both names and selector are absent. Left to the configuration\'s owners (an empty list may be meant to pause a cluster).',
        'Huge inputs include a 5 MiB cluster name, a 2 MiB run of U+202E, a 5 MiB comment, 10,000 clusters with a bad namespace each, 10,000 clusters sharing one name and 100,000 list entries.',
      ],
    });
  });
});

describe('malformed AWS grants', () => {
  it.each(AWS_BAD.map(([path, value, at]) => ({ at, path, value })))(
    'rejects $at with a message at that path',
    ({ path, value, at }) => {
      // Prepare
      const text = toYaml(setAt(BASE, path, value));

      // Act
      const result = checkConfig({ category: 'aws grant', text });
      const issues = (() => {
        try {
          parseConfig(text, 'clusters.yaml');
          return [];
        } catch (error) {
          return error instanceof ConfigError ? error.issues : [String(error)];
        }
      })();

      // Assess
      expect(result.problem).toBeUndefined();
      expect(result.rejected).toBe(true);
      expect(issues.some((issue) => issue.startsWith(`${at} (line `))).toBe(true);
    },
  );
});

// ---------------------------------------------------------------------------------------------------
// Kubeconfigs
// ---------------------------------------------------------------------------------------------------

type Doc = Record<string, unknown> & {
  clusters: { cluster: Record<string, unknown> }[];
  users: { user: Record<string, unknown> }[];
  contexts: { context: Record<string, unknown> }[];
};

interface KubeconfigCase {
  readonly id: string;
  /** What the Secrets Manager secret holds; `absent`: no secret of that name. */
  readonly stored: { readonly text: string } | { readonly binary: Buffer } | { readonly absent: true };
  readonly expected: FailureClass;
  /** What the message must name (the field), for refused kubeconfigs. */
  readonly field?: RegExp;
  /** Extra keys of the cluster's entry, e.g. an opt-in. */
  readonly entryKeys?: string;
  /** A warning the cluster's result must carry (an opt-in in use). */
  readonly warning?: RegExp;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe.skipIf(!rig)(
  `malformed kubeconfigs through the run path${rig ? '' : ` (skipped: ${skipReason})`}`,
  () => {
    useRigAws();

    it('refuses each with its class and a message naming the cluster and the field; the healthy cluster beside them is delivered; the CLI says the same without a stack', async () => {
      // Prepare
      const { a } = theRig().clusters;
      const pki = new Pki();
      const namespace = uniqueName('kc');
      const registered = await registerCluster(a, {
        namespaces: [namespace],
        secretNames: ['ecr-pull'],
        serviceAccounts: [],
      });
      const ca = { certFile: a.caCertFile, keyFile: a.caKeyFile };
      const expired = pki.clientCert(ca, { commonName: 'cred-courier-expired', days: -1 });
      const valid = pki.clientCert(ca, { commonName: 'cred-courier-mismatch', days: 2 });
      const foreignCa = pki.foreignCa('impostor');
      const foreignClient = pki.clientCert(foreignCa, { commonName: 'cred-courier', days: 2 });
      const urlPassword = `url-pass-${randomBytes(8).toString('hex')}`;
      const basicPassword = `basic-pass-${randomBytes(8).toString('hex')}`;
      const controlToken = `tok\u0000en-${randomBytes(8).toString('hex')}`;
      const newlineToken = `tok\nen-${randomBytes(8).toString('hex')}`;
      const hugeToken = `huge-${randomBytes(8).toString('hex')}${'x'.repeat(1024 * 1024)}`;
      for (const value of [
        registered.token,
        urlPassword,
        basicPassword,
        controlToken,
        newlineToken,
        hugeToken,
      ])
        leaks.secret(value);
      for (const pair of [expired, valid, foreignClient]) leaks.secret(pair.key);
      const { parse } = await import('yaml');
      const edit = (change: (doc: Doc) => void) => {
        const doc = parse(registered.kubeconfig) as Doc;
        change(doc);
        return { text: stringify(doc) };
      };
      const cluster = (doc: Doc) => doc.clusters[0]?.cluster ?? {};
      const setUser = (doc: Doc, user: Record<string, unknown>) => {
        const entry = doc.users[0];
        if (entry) entry.user = user;
      };
      const server = a.server;
      const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        .concat(
          Array.from(
            { length: 8 },
            (_, i) =>
              `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
                .fill(`*${String.fromCharCode(97 + i)}`)
                .join(',')}]`,
          ),
        )
        .join('\n');
      const cases: KubeconfigCase[] = [
        {
          id: 'exec user',
          stored: edit((d) => {
            const user = d.users[0]?.user ?? {};
            user.exec = { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1beta1' };
          }),
          expected: 'kubeconfig',
          field: /users\[\]\.user\.exec is not supported/,
        },
        {
          id: 'auth-provider user',
          stored: edit((d) => setUser(d, { 'auth-provider': { name: 'gcp' } })),
          expected: 'kubeconfig',
          field: /users\[\]\.user\.auth-provider is not supported/,
        },
        {
          id: 'no CA data (it would trust the system roots)',
          stored: edit((d) => {
            delete cluster(d)['certificate-authority-data'];
          }),
          expected: 'kubeconfig',
          field: /cluster\.certificate-authority-data is missing: embed .*set trustSystemRoots: true/,
        },
        {
          id: "no CA data, the entry sets trustSystemRoots (the rig's CA is no system root)",
          stored: edit((d) => {
            delete cluster(d)['certificate-authority-data'];
          }),
          entryKeys: 'trustSystemRoots: true',
          expected: 'tls',
          warning: /no CA embedded for this cluster \(trustSystemRoots\)/,
        },
        {
          id: 'CA data of another CA',
          stored: edit((d) => {
            cluster(d)['certificate-authority-data'] = b64(foreignCa.cert);
          }),
          expected: 'tls',
        },
        {
          id: 'garbage YAML',
          stored: { text: 'apiVersion: v1\nclusters: [\n  - {name: x, cluster: {server: "https://' },
          expected: 'kubeconfig',
          field: /not valid YAML/,
        },
        {
          id: 'CA data not base64',
          stored: edit((d) => {
            cluster(d)['certificate-authority-data'] = '!!!not*base64***';
          }),
          expected: 'kubeconfig',
          field: /cluster\.certificate-authority-data is not base64 of a PEM block/,
        },
        {
          id: 'CA data holding a private key',
          stored: edit((d) => {
            cluster(d)['certificate-authority-data'] = b64(valid.key);
          }),
          expected: 'kubeconfig',
          field: /certificate-authority-data/,
        },
        {
          id: 'client certificate data not base64',
          stored: edit((d) =>
            setUser(d, { 'client-certificate-data': 'Zm9vYmFy', 'client-key-data': b64(valid.key) }),
          ),
          expected: 'kubeconfig',
          field: /user\.client-certificate-data is not base64 of a PEM block/,
        },
        {
          id: 'client key not matching the certificate',
          stored: edit((d) =>
            setUser(d, { 'client-certificate-data': b64(valid.cert), 'client-key-data': b64(expired.key) }),
          ),
          expected: 'kubeconfig',
          field: /client-key-data/,
        },
        {
          id: 'expired client certificate',
          stored: edit((d) =>
            setUser(d, { 'client-certificate-data': b64(expired.cert), 'client-key-data': b64(expired.key) }),
          ),
          expected: 'unauthorized',
        },
        {
          id: 'client certificate from another CA',
          stored: edit((d) =>
            setUser(d, {
              'client-certificate-data': b64(foreignClient.cert),
              'client-key-data': b64(foreignClient.key),
            }),
          ),
          expected: 'unauthorized',
        },
        {
          id: 'http:// server',
          stored: edit((d) => {
            cluster(d).server = server.replace('https:', 'http:');
          }),
          expected: 'kubeconfig',
          field: /cluster\.server must use https/,
        },
        {
          id: 'server not a URL',
          stored: edit((d) => {
            cluster(d).server = 'not a url';
          }),
          expected: 'kubeconfig',
          field: /cluster\.server is not a URL/,
        },
        {
          id: 'server URL with a password in it',
          stored: edit((d) => {
            cluster(d).server = server.replace('https://', `https://admin:${urlPassword}@`);
          }),
          expected: 'kubeconfig',
          field: /cluster\.server/,
        },
        {
          id: 'tokenFile',
          stored: edit((d) => setUser(d, { tokenFile: '/var/run/secrets/token' })),
          expected: 'kubeconfig',
          field: /users\[\]\.user\.tokenFile refers to a file/,
        },
        {
          id: 'client-certificate file',
          stored: edit((d) => setUser(d, { 'client-certificate': '/c.crt', 'client-key': '/c.key' })),
          expected: 'kubeconfig',
          field: /users\[\]\.user\.client-certificate refers to a file/,
        },
        {
          id: 'certificate-authority file',
          stored: edit((d) => {
            cluster(d)['certificate-authority'] = '/ca.crt';
          }),
          expected: 'kubeconfig',
          field: /cluster\.certificate-authority refers to a file/,
        },
        {
          id: 'basic auth',
          stored: edit((d) => setUser(d, { username: 'admin', password: basicPassword })),
          expected: 'kubeconfig',
          field: /users\[\]\.user basic auth is not supported/,
        },
        {
          id: 'insecure-skip-tls-verify',
          stored: edit((d) => {
            cluster(d)['insecure-skip-tls-verify'] = true;
          }),
          expected: 'kubeconfig',
          field: /cluster\.insecure-skip-tls-verify is set/,
        },
        {
          id: 'missing user',
          stored: edit((d) => {
            const context = d.contexts[0]?.context ?? {};
            context.user = 'nobody';
          }),
          expected: 'kubeconfig',
          field: /users has no entry named "nobody"/,
        },
        {
          id: 'missing current-context',
          stored: edit((d) => {
            delete d['current-context'];
          }),
          expected: 'kubeconfig',
          field: /current-context is missing/,
        },
        {
          id: 'current-context naming nothing',
          stored: edit((d) => {
            d['current-context'] = 'elsewhere';
          }),
          expected: 'kubeconfig',
          field: /contexts has no entry named "elsewhere"/,
        },
        {
          id: 'clusters a mapping',
          stored: edit((d) => {
            (d as Record<string, unknown>).clusters = { a: 1 };
          }),
          expected: 'kubeconfig',
          field: /clusters is missing or not a list/,
        },
        {
          id: 'users entries not mappings',
          stored: edit((d) => {
            (d as Record<string, unknown>).users = ['junk', 42];
          }),
          expected: 'kubeconfig',
          field: /users has no entry named/,
        },
        {
          id: 'empty token',
          stored: edit((d) => setUser(d, { token: '' })),
          expected: 'kubeconfig',
          field: /user\.token must be a non-empty string/,
        },
        {
          id: 'token with a NUL character',
          stored: edit((d) => setUser(d, { token: controlToken })),
          expected: 'kubeconfig',
          field: /user\.token/,
        },
        {
          id: 'token with a newline',
          stored: edit((d) => setUser(d, { token: newlineToken })),
          expected: 'kubeconfig',
          field: /user\.token/,
        },
        {
          id: 'client certificate without key',
          stored: edit((d) => setUser(d, { 'client-certificate-data': b64(valid.cert) })),
          expected: 'kubeconfig',
          field: /users\[\]\.user needs/,
        },
        {
          id: 'a YAML list',
          stored: { text: '- apiVersion: v1\n- kind: Config\n' },
          expected: 'kubeconfig',
          field: /not a kubeconfig/,
        },
        {
          id: 'duplicate keys',
          stored: { text: `${registered.kubeconfig}current-context: other\n` },
          expected: 'kubeconfig',
          field: /not valid YAML/,
        },
        {
          id: 'alias bomb',
          stored: { text: laughs },
          expected: 'kubeconfig',
          field: /not valid YAML|not a kubeconfig|current-context is missing/,
        },
        {
          id: 'deep nesting',
          stored: { text: `${'['.repeat(20_000)}${']'.repeat(20_000)}` },
          expected: 'kubeconfig',
          field: /not valid YAML|not a kubeconfig/,
        },
        {
          id: 'whitespace only',
          stored: { text: ' \n\t\n' },
          expected: 'kubeconfig',
          field: /not valid YAML|not a kubeconfig/,
        },
        {
          id: 'binary junk',
          stored: { binary: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)) },
          expected: 'kubeconfig',
          field: /not valid YAML|not a kubeconfig/,
        },
        {
          id: 'secret absent from Secrets Manager',
          stored: { absent: true },
          expected: 'kubeconfig',
          field: /unable to read secret .*ResourceNotFoundException/,
        },
        {
          id: '60 KiB of junk CA data',
          stored: edit((d) => {
            cluster(d)['certificate-authority-data'] = b64('x'.repeat(45 * 1024));
          }),
          expected: 'kubeconfig',
          field: /certificate-authority-data is not base64 of a PEM block/,
        },
        {
          id: '1 MiB token',
          stored: edit((d) => setUser(d, { token: hugeToken })),
          expected: 'kubeconfig',
          field: /user\.token/,
        },
      ];
      const sm = new SecretsManagerClient({});
      const entries: { kase: KubeconfigCase; name: string; secretId: string; storedAs: string }[] = [];
      for (const kase of cases) {
        const name = uniqueName('kc');
        const secretId = `cred-courier/test/bad/${name}`;
        let storedAs = 'absent';
        if ('text' in kase.stored) {
          await sm.send(new CreateSecretCommand({ Name: secretId, SecretString: kase.stored.text }));
          storedAs = `text, ${(Buffer.byteLength(kase.stored.text) / 1024).toFixed(1)} KiB`;
        } else if ('binary' in kase.stored) {
          await sm.send(new CreateSecretCommand({ Name: secretId, SecretBinary: kase.stored.binary }));
          storedAs = `binary, ${(kase.stored.binary.length / 1024).toFixed(1)} KiB`;
        }
        entries.push({ kase, name, secretId, storedAs });
      }
      const healthy = { name: uniqueName('kc-ok'), secretId: registered.secretId };
      const entry = (name: string, secretId: string, keys?: string) => `
  - name: ${name}
    kubeconfigSecret: ${secretId}
    namespaces: { names: [${namespace}] }
    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }], serviceAccounts: [] }${keys ? `\n    ${keys}` : ''}`;
      const yaml = `settings:\n  controlNamespace: ${registered.controlNamespace}\n  requestTimeoutSeconds: 5\n  clusterDeadlineSeconds: 20\n  concurrency: 16\nclusters:${[
        entry(healthy.name, healthy.secretId),
        ...entries.map((e) => entry(e.name, e.secretId, e.kase.entryKeys)),
      ].join('')}`;

      // Act
      const run = await capturedRun(configOf(yaml), { prune: false });
      const cli = await runCli(
        ['run', '-c', tempFile('kubeconfigs.yaml', yaml), '--no-prune', '-o', 'json'],
        {
          aws: theRig().aws,
        },
      );
      pki.dispose();
      leaks.text('kubeconfig run: log', run.lines);
      leaks.text('kubeconfig run: result', JSON.stringify(run.result, null, 2));
      leaks.redactor(run.redactor);
      leaks.text('kubeconfig CLI: stdout', cli.stdout);
      leaks.text('kubeconfig CLI: stderr', cli.stderr);

      // Assess
      const byName = new Map(run.result.clusters.map((c) => [c.cluster, c]));
      const report = JSON.parse(cli.stdout) as RunResult;
      const cliByName = new Map(report.clusters.map((c) => [c.cluster, c]));
      expect(byName.get(healthy.name)?.ok).toBe(true);
      expect(cliByName.get(healthy.name)?.ok).toBe(true);
      expect(cli.code).toBe(1);
      expect(cli.stderr).not.toMatch(STACK_FRAME);
      const rows: string[][] = [];
      const wrong: string[] = [];
      for (const { kase, name, storedAs } of entries) {
        const failure = byName.get(name)?.failure;
        const cliFailure = cliByName.get(name)?.failure;
        const logged = run.lines.some(
          (line) =>
            line.includes(`"cluster":"${name}"`) && line.includes(`"failureClass":"${kase.expected}"`),
        );
        rows.push([
          kase.id,
          storedAs,
          failure?.failureClass ?? 'not refused',
          cliFailure?.failureClass ?? 'not refused',
          (failure?.message ?? '').replace(`cluster ${name}: `, 'cluster …: ').slice(0, 110),
        ]);
        const problems = [
          failure?.failureClass === kase.expected ? '' : `class ${failure?.failureClass}`,
          cliFailure?.failureClass === kase.expected ? '' : `CLI class ${cliFailure?.failureClass}`,
          logged ? '' : 'no error line with the class',
          // The result is the cluster's and its class is kubeconfig: the message says neither again.
          kase.expected === 'kubeconfig' && failure?.message.includes(`cluster ${name}: kubeconfig: `)
            ? 'message repeats the cluster and class'
            : '',
          kase.field && !kase.field.test(failure?.message ?? '')
            ? `message ${JSON.stringify(failure?.message)}`
            : '',
          kase.warning && !(byName.get(name)?.warnings ?? []).some((w) => kase.warning?.test(w))
            ? `no warning ${kase.warning}`
            : '',
        ].filter(Boolean);
        if (problems.length > 0) wrong.push(`${kase.id}: ${problems.join('; ')}`);
      }
      expect(wrong).toEqual([]);
      expect(cases.length).toBeGreaterThanOrEqual(20);

      // The CLI with registration files it cannot use: exit 2, one line, no stack.
      const dir = dirname(tempFile('.keep', ''));
      const cliCases: [string, string[]][] = [
        ['missing file', ['run', '-c', `${dir}/absent.yaml`]],
        ['a directory', ['validate', '-c', dir]],
        ['empty file', ['validate', '-c', tempFile('empty.yaml', '')]],
        [
          'binary junk',
          [
            'run',
            '-c',
            tempFile('junk.yaml', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 256))),
          ],
        ],
        [
          '5 MiB hostile name',
          [
            'validate',
            '-c',
            tempFile(
              'huge.yaml',
              toYaml(setAt(BASE, [...C, 'name'], '\u202e\u001b[31m'.repeat(1024 * 1024))),
            ),
          ],
        ],
        [
          '10,000 bad clusters',
          [
            'plan',
            '-c',
            tempFile(
              'many.yaml',
              `clusters:\n${'  - { name: X, kubeconfigSecret: "a b" }\n'.repeat(10_000)}`,
            ),
          ],
        ],
        ['unknown kind', ['run', '--kinds', 'ecr,bogus', '-c', tempFile('ok.yaml', toYaml(BASE))]],
        ['unknown option', ['run', '--frobnicate']],
        [
          '--cluster naming no cluster',
          ['run', '--cluster', 'nope', '-c', tempFile('one.yaml', toYaml(BASE))],
        ],
      ];
      const cliRows: string[][] = [];
      for (const [id, args] of cliCases) {
        const result = await runCli(args, { aws: theRig().aws });
        leaks.text(`CLI ${id}`, result.stderr + result.stdout);
        cliRows.push([
          id,
          `${result.code}`,
          `${result.stderr.length} bytes`,
          STACK_FRAME.test(result.stderr) ? 'YES' : 'no',
        ]);
        // Usage errors (commander) and unusable files (CredCourierErrors) both exit 2.
        expect(result.code, id).toBe(2);
        expect(result.stderr, id).not.toMatch(STACK_FRAME);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: an escape sequence reaching the terminal is the defect
        expect(result.stderr, id).not.toMatch(/\u001b\[|\u202e/);
        expect(result.stderr.length, id).toBeLessThan(20_000);
      }

      // No token, key or password of these kubeconfigs in any log line, report or CLI output.
      const scanned = leaks.result();
      expect(scanned.values).toBeGreaterThan(10);
      expect(scanned.hits).toEqual([]);

      sections.push({
        id: 'bad-kubeconfig',
        title: 'Bad kubeconfigs',
        generatedAt: new Date().toISOString(),
        durationMs: 0,
        intro: [
          `${cases.length} malformed kubeconfigs, each stored in moto's Secrets Manager for a cluster of its own, delivered to in one run ` +
            '(`runDelivery`) beside a healthy cluster, then by `cred-courier run -o json` in a child process. Refused forms must fail with ' +
            '`kubeconfig` and a message naming the field, in the result of the cluster (which the message does not repeat); where the kubeconfig is well-formed but the server or the identity ' +
            "does not accept it, the honest class is the server's answer (`tls`, `unauthorized`).",
        ],
        tables: [
          {
            headers: ['kubeconfig', 'stored', 'class (run)', 'class (CLI)', 'message (cluster name elided)'],
            rows,
          },
          {
            caption:
              '**The CLI with unusable input** (exit code 2 expected, one line on stderr, no stack trace, no raw escape sequence):',
            headers: ['input', 'exit code', 'stderr', 'stack trace'],
            rows: cliRows,
          },
        ],
        notes: [
          `Healthy cluster beside them: ${byName
            .get(healthy.name)
            ?.secrets.map((s) => s.action)
            .join(', ')} (run), ${cliByName
            .get(healthy.name)
            ?.secrets.map((s) => s.action)
            .join(', ')} (CLI).`,
          `Run duration ${(run.result.durationMs / 1000).toFixed(1)} s for ${entries.length + 1} clusters.`,
          'moto stores secrets of any size; AWS Secrets Manager refuses values over 64 KiB, so the 1 MiB kubeconfig stands for one that reaches the parser some other way (a cached or hand-made source).',
          "Usage errors (an unknown `--kinds` value, an unknown option) exited 1 (commander's code) until this suite found it; they now exit 2 like every other bad input.",
        ],
      });
    });
  },
);
