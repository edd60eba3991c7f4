// fgd-sync.mjs: the fgd-sync component under Node.js (or any JS engine with WebAssembly).
//
// jco transpiles the component (the very .wasm the `fgd-sync` binary ships) into core wasm
// modules plus JavaScript glue, once per component (cached by its SHA-256 under .cache/).
// `load()` instantiates it with WASI from @bytecodealliance/preview2-shim and the `hnp` import
// from plain JavaScript functions, and returns the `logic` and `sync` exports.
//
// WIT values in JavaScript (jco's conventions): records are objects with camelCase fields,
// `option` is the value or undefined, variants are `{ tag, val }`, enums are strings, and an
// export that returns `result::err` throws an error whose `payload` is the WIT error.

import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import * as shim from '@bytecodealliance/preview2-shim';

const HERE = dirname(fileURLToPath(import.meta.url));
const CACHE = join(HERE, '.cache');

/** WASI for the component, from the shim: `wasi:cli/environment` -> shim.cli.environment. */
function wasiImports() {
  const camel = (s) => s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  const imports = {};
  for (const [ns, ifaces] of Object.entries({
    cli: ['environment', 'exit', 'stderr', 'stdin', 'stdout', 'terminal-input', 'terminal-output',
      'terminal-stderr', 'terminal-stdin', 'terminal-stdout'],
    clocks: ['monotonic-clock', 'wall-clock'],
    http: ['outgoing-handler', 'types'],
    io: ['error', 'poll', 'streams'],
    random: ['random'],
  })) {
    for (const iface of ifaces) imports[`wasi:${ns}/${iface}`] = shim[ns][camel(iface)];
  }
  return imports;
}

/** Transpiles the component unless a transpilation of the same bytes is cached. */
async function transpiled(wasmPath) {
  const bytes = await readFile(wasmPath);
  const id = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dir = join(CACHE, id);
  const entry = join(dir, 'fgd_sync.js');
  try {
    await readFile(entry);
    return { dir, entry };
  } catch {
    // not cached yet
  }
  // jco is only needed here, so a deployment that ships .cache/ can drop it.
  const { transpile } = await import('@bytecodealliance/jco');
  const { files } = await transpile(bytes, {
    name: 'fgd_sync',
    instantiation: 'async',
    noTypescript: true,
    quiet: true,
  });
  const tmp = `${dir}.tmp-${process.pid}`;
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(tmp, name)), { recursive: true });
    await writeFile(join(tmp, name), content);
  }
  await rename(tmp, dir).catch(async (error) => {
    // Another process cached it first: use theirs.
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  });
  return { dir, entry };
}

/**
 * Loads the component.
 * @param {string} wasmPath the fgd-sync component
 * @param {{ hnp?: { listResources(fabric: string): object[], getResource(fabric: string, ref: object): object | undefined, applyChanges(fabric: string, changes: object[]): (string | undefined)[], recordSynced(fabric: string, entries: object[]): void } }} options
 *   `hnp` answers the component's CR lookups; a thrown error becomes the WIT `err` string.
 */
export async function load(wasmPath, { hnp = memorySource([]) } = {}) {
  const { dir, entry } = await transpiled(wasmPath);
  const { instantiate } = await import(pathToFileURL(entry).href);
  const getCoreModule = async (name) => WebAssembly.compile(await readFile(join(dir, name)));
  const asResult = (f) => (...args) => {
    try {
      return { tag: 'ok', val: f(...args) };
    } catch (error) {
      return { tag: 'err', val: String(error?.message ?? error) };
    }
  };
  const exports = await instantiate(getCoreModule, {
    ...wasiImports(),
    'hedgehog:fgd-sync/hnp': {
      listResources: asResult((fabric) => hnp.listResources(fabric)),
      getResource: asResult((fabric, ref) => hnp.getResource(fabric, ref) ?? undefined),
      applyChanges: asResult((fabric, changes) => hnp.applyChanges(fabric, changes)),
      recordSynced: asResult((fabric, entries) => hnp.recordSynced(fabric, entries)),
    },
  });
  return { logic: exports.logic, sync: exports.sync };
}

/** An `hnp` source over an array of CRs (WIT custom-resource records). */
export function memorySource(resources) {
  const ns = (n) => n || 'default';
  return {
    resources,
    recorded: [],
    listResources: () => resources,
    getResource: (_fabric, ref) =>
      resources.find((r) => r.kind === ref.kind && r.name === ref.name && ns(r.namespace) === ns(ref.namespace)),
    // A pull's CR writes, each only while HNP still holds what the component saw.
    applyChanges(_fabric, changes) {
      const same = (a, b) => a.kind === b.kind && a.name === b.name && ns(a.namespace) === ns(b.namespace);
      const equal = (a, b) => JSON.stringify(a) === JSON.stringify(b);
      return changes.map((change) => {
        const at = resources.findIndex((r) => same(r, change.resource));
        const found = at >= 0 ? resources[at] : undefined;
        if ((found === undefined) !== (change.expected === undefined) || (found && !equal(found, change.expected))) {
          return `${change.resource.kind} ${change.resource.name} changed meanwhile`;
        }
        if (found) resources.splice(at, 1);
        if (change.op !== 'delete') resources.push(change.resource);
        return undefined;
      });
    },
    recordSynced(fabric, entries) {
      for (const entry of entries) this.recorded.push({ fabric, ...entry });
    },
  };
}

/** `{ ok: value }`, or `{ err: payload }` when the export returned a WIT error. */
export function outcome(call) {
  try {
    return { ok: call() };
  } catch (error) {
    if (error && Object.hasOwn(error, 'payload')) return { err: error.payload };
    throw error;
  }
}

/**
 * WIT values as plain data with WIT (kebab-case) field names, `none` as null, tuples as
 * arrays: the form the corpus compares across hosts.
 */
export function toPlain(value) {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value).sort()) {
      out[key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = toPlain(value[key]);
    }
    return out;
  }
  return value;
}
