// corpus.mjs: runs the shared corpus (tests/data/corpus/corpus.json) through the component
// under Node.js and prints the results as JSON, in the form tests/data/corpus/README.md
// describes; tests/it/hosts.rs requires them byte-identical to the Rust and Python hosts'.
//
//   node corpus.mjs --component fgd_sync.wasm --corpus ../../tests/data/corpus/corpus.json

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import { load, outcome, toPlain } from './fgd-sync.mjs';

const MAX_CONTENT_ROUNDS = 3;
const utf8 = new TextEncoder();

const { values: args } = parseArgs({
  options: { component: { type: 'string' }, corpus: { type: 'string' } },
});
if (!args.component || !args.corpus) {
  console.error('usage: node corpus.mjs --component FILE.wasm --corpus corpus.json');
  process.exit(2);
}

const corpus = JSON.parse(readFileSync(args.corpus, 'utf8'));
const base = dirname(args.corpus);
const { logic } = await load(args.component);
const { directory, 'state-path': statePath, 'message-prefix': prefix } = corpus;

const crFromPlain = (c) => ({
  kind: c.kind,
  apiVersion: c['api-version'] ?? undefined,
  name: c.name,
  namespace: c.namespace,
  labels: c.labels,
  annotations: c.annotations,
  spec: c.spec,
});
const sha = (text) => logic.blobSha(utf8.encode(text));

function resource(cr) {
  const render = toPlain(outcome(() => logic.render(cr)));
  const ref = { kind: cr.kind, namespace: cr.namespace, name: cr.name };
  const path = toPlain(outcome(() => logic.manifestPath(directory, ref)));
  return { render, path, 'blob-sha': 'ok' in render ? sha(render.ok) : null };
}

function plan(desired, remoteFiles, state, blobs, direction = 'push') {
  const input = { directory, remoteFiles, state, contents: [], desired, deleted: [], complete: true, resolutions: [], fabric: '', untrusted: [], unreadable: [], direction, refused: [] };
  let result;
  for (let round = 0; round < MAX_CONTENT_ROUNDS; round++) {
    result = toPlain(outcome(() => logic.plan(input, prefix)));
    const known = new Set(input.contents.map(([s]) => s));
    const wanted = (result.ok?.['need-contents'] ?? []).filter((s) => !known.has(s) && blobs.has(s));
    if (wanted.length === 0) break;
    input.contents.push(...wanted.map((s) => [s, blobs.get(s)]));
  }
  return result;
}

function plans(crs) {
  const fresh = plan(crs, [], undefined, new Map());
  const out = [{ name: 'fresh', result: fresh }];
  if (!('ok' in fresh)) return out;
  const files = new Map(fresh.ok.writes.filter((w) => w.content !== null).map((w) => [w.path, w.content]));
  const blobs = new Map([...files.values()].map((text) => [sha(text), text]));
  const byPath = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const remote = [...files].map(([path, text]) => [path, sha(text)]).sort(byPath);
  const state = files.get(statePath);
  out.push({ name: 'resync', result: plan(crs, remote, state, blobs) });
  const managed = [...files.keys()].filter((p) => p !== statePath).sort();
  if (managed.length > 0) {
    const edited = `${files.get(managed[0])}gitEdited: true\n`;
    const editedSha = sha(edited);
    const editedRemote = remote.map(([p, s]) => [p, p === managed[0] ? editedSha : s]);
    const editBlobs = new Map([...blobs, [editedSha, edited]]);
    out.push({ name: 'git-edit', result: plan(crs, editedRemote, state, editBlobs) });
    // The same edit pulled (a conflict that says why), and Git's deletion pulled.
    out.push({ name: 'git-edit-pull', result: plan(crs, editedRemote, state, editBlobs, 'pull') });
    const deleted = remote.filter(([p]) => p !== managed[0]);
    out.push({ name: 'git-delete-pull', result: plan(crs, deleted, state, blobs, 'pull') });
  }
  if (crs.length > 0) out.push({ name: 'hnp-delete', result: plan(crs.slice(1), remote, state, blobs) });
  return out;
}

function manifest(name, text) {
  const parsed = outcome(() => logic.parseManifests(name, text));
  if ('err' in parsed) return { file: name, parse: toPlain(parsed) };
  const crs = parsed.ok;
  return { file: name, parse: toPlain(parsed), resources: crs.map(resource), plans: plans(crs) };
}

function resources(name, cases) {
  const crs = cases.map((c) => crFromPlain(c.cr));
  return { file: name, entries: crs.map(resource), plans: plans(crs) };
}

const report = {
  host: 'node',
  manifests: corpus.manifests.map((m) => manifest(m.file, readFileSync(join(base, m.file), 'utf8'))),
  resources: corpus.resources.map((r) => resources(r.file, JSON.parse(readFileSync(join(base, r.file), 'utf8')))),
};
process.stdout.write(`${JSON.stringify(report)}\n`);
