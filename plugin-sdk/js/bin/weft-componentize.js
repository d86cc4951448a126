#!/usr/bin/env node
// weft-componentize PLUGIN.js [-o OUT.wasm]: bundles a plugin module with the SDK and turns it
// into a component of the weft world with jco, on the QuickJS engine. QuickJS gives 1.6 MB
// components instead of StarlingMonkey's 12 MB; it must be built without async support, since
// async output needs the component-model async feature, which the host's wasmtime rejects.
// Then it records JavaScript, the tools and the SDK in the component's producers section.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { addProducers } from './producers.js';

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
const require = createRequire(import.meta.url);
const jco = join(dirname(require.resolve('@bytecodealliance/jco')), 'jco.js');

// The version in the package.json of the installed package `name`, found above its entry point.
function versionOf(name) {
  for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const found = JSON.parse(readFileSync(manifest, 'utf8'));
      if (found.name === name) return found.version;
    }
  }
  return '';
}

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
if (status === 0) {
  // For `weft check`: the language, the tools and the SDK.
  addProducers(parsed.values.out, {
    language: { JavaScript: '' },
    'processed-by': {
      jco: versionOf('@bytecodealliance/jco'),
      'componentize-qjs': versionOf('componentize-qjs'),
    },
    sdk: { '@weft/plugin': JSON.parse(readFileSync(join(sdk, 'package.json'), 'utf8')).version },
  });
}
process.exit(status ?? 1);
