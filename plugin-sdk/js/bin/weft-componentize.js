#!/usr/bin/env node
// weft-componentize PLUGIN.js [-o OUT.wasm]: bundles a plugin module with the SDK and turns it
// into a component of the weft world with jco, on the QuickJS engine. QuickJS gives 1.6 MB
// components instead of StarlingMonkey's 12 MB; it must be built without async support, since
// async output needs the component-model async feature, which the host's wasmtime rejects.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const usage = 'usage: weft-componentize PLUGIN.js [-o OUT.wasm]';
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string', short: 'o', default: 'plugin.wasm' } },
  });
} catch (e) {
  console.error(`${e.message}\n${usage}`);
  process.exit(2);
}
if (parsed.positionals.length !== 1) {
  console.error(usage);
  process.exit(2);
}

const sdk = join(dirname(fileURLToPath(import.meta.url)), '..');
const jco = join(dirname(createRequire(import.meta.url).resolve('@bytecodealliance/jco')), 'jco.js');
const args = [
  jco,
  'componentize',
  parsed.positionals[0],
  '--wit',
  join(sdk, 'wit'),
  '--world-name',
  'reconciler',
  '--backend',
  'quickjs',
  '--backend-qjs-disable-async',
  '--bundle',
  '--bundle-config',
  join(sdk, 'bundle.config.js'),
  '--out',
  parsed.values.out,
];
const { status, error } = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (error) throw error;
process.exit(status ?? 1);
