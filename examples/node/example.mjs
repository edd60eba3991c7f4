// example.mjs: the fgd-sync component under Node.js with the `hnp` import supplied from
// JavaScript: parse manifests, render, find paths, and plan the first commit.
//
//   node example.mjs path/to/fgd_sync.wasm path/to/manifests.yaml

import { readFileSync } from 'node:fs';

import { load, memorySource, outcome } from './fgd-sync.mjs';

const [wasm = 'fgd_sync.wasm', manifests] = process.argv.slice(2);
const text = manifests
  ? readFileSync(manifests, 'utf8')
  : 'apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-1\nspec:\n  subnets:\n    default: {subnet: 10.0.1.0/24, vlan: 1001}\n';

// Any object with listResources / getResource / recordSynced is an `hnp`: here, an array.
const hnp = memorySource([]);
const { logic } = await load(wasm, { hnp });

const crs = logic.parseManifests(manifests ?? 'inline.yaml', text);
hnp.resources.push(...crs);
for (const cr of crs) {
  const path = logic.manifestPath('fabrics/dc1/gitops', { kind: cr.kind, namespace: cr.namespace, name: cr.name });
  const yaml = logic.render(cr);
  console.log(`${path}  ${logic.blobSha(new TextEncoder().encode(yaml))}`);
}
const plan = logic.plan(
  { directory: 'fabrics/dc1/gitops', remoteFiles: [], state: undefined, contents: [], desired: crs, deleted: [], complete: true, resolutions: [], fabric: 'dc1', untrusted: [], unreadable: [], direction: 'push', refused: [] },
  '[node] ',
);
console.log(plan.message);
// A WIT error comes back as an exception whose `payload` is the WIT value.
console.log(outcome(() => logic.render({ ...crs[0], name: 'Not_Valid' })).err);
