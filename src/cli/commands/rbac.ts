/**
 * `cred-courier rbac <cluster>`: the objects the cluster needs for delivery, derived from the
 * registration file, as YAML documents (`-o yaml`, the default text output being the same YAML) or a
 * JSON `List` with `-o json`; both can be piped into `kubectl apply -f -`. Reads the file only.
 */
import type { Command } from 'commander';
import { Document, isMap, isScalar, isSeq } from 'yaml';
import { loadConfig } from '../../config/load.ts';
import { clusterRoleWarning, rbacManifests } from '../../register/rbac.ts';
import { selectClusters } from '../../register/select.ts';
import { EXIT_CODES_HELP, print, type SharedOptions, withSharedOptions } from './common.ts';

/** Lists of plain values in flow style (`verbs: [get, patch]`), the rest in block style. */
function flowScalarLists(node: unknown): void {
  if (isSeq(node)) {
    if (node.items.every((item) => isScalar(item))) node.flow = true;
    else for (const item of node.items) flowScalarLists(item);
  } else if (isMap(node)) {
    for (const pair of node.items) flowScalarLists(pair.value);
  }
}

/** The manifests as `kubectl apply` reads them: YAML documents separated by `---`. */
export function manifestsYaml(manifests: readonly object[]): string {
  return manifests
    .map((manifest) => {
      const doc = new Document(manifest);
      flowScalarLists(doc.contents);
      return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
    })
    .join('---\n')
    .trimEnd();
}

export function addRbacCommand(program: Command): void {
  withSharedOptions(program.command('rbac'), 'accepted for symmetry; rbac only reads the file')
    .argument('<cluster>', 'registered cluster name')
    .description('print the RBAC (and secret guard) a cluster needs for delivery, from the registration file')
    .addHelpText(
      'after',
      `\nOutput: YAML documents (text and yaml are the same), or a JSON List with -o json.\n\nExamples:\n  $ cred-courier rbac gke-prod | kubectl apply -f -\n  $ cred-courier rbac gke-prod -o json\n${EXIT_CODES_HELP}`,
    )
    .action(async (cluster: string, options: SharedOptions) => {
      const config = await loadConfig(options.config);
      const [spec] = selectClusters(config, [cluster]);
      const manifests = spec ? rbacManifests(spec, config.settings) : [];
      // On stderr, so stdout stays what `kubectl apply -f -` reads, in either format.
      const clusterWide = spec ? clusterRoleWarning(spec, config.settings) : undefined;
      if (clusterWide !== undefined) process.stderr.write(`warning: ${clusterWide}\n`);
      // YAML is what kubectl reads, so text is YAML too; yaml writes the documents, not a List.
      const json = options.output === 'json';
      print(json ? 'json' : 'text', { apiVersion: 'v1', kind: 'List', items: manifests }, () =>
        manifestsYaml(manifests),
      );
    });
}
