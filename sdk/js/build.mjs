#!/usr/bin/env node
// Builds a wasync plugin written in JavaScript into a WebAssembly component.
//
//   node sdk/js/build.mjs --wit WIT_DIR --world WORLD --entry FILE.js --out FILE.wasm
//
// Two steps:
// 1. esbuild bundles the entry and everything it imports into one ES module, because
//    componentize-js embeds a single module. `import ... from 'wasync'` resolves to this
//    SDK's helpers; other bare imports resolve from the entry's folder first, then from this
//    SDK's node_modules; `wasync:plugin/...` imports are left for the component model.
// 2. The componentize-js API (not the `jco componentize` CLI, which fails on this setup)
//    embeds the bundle into SpiderMonkey and wraps it as a component of WORLD.
//
// Every path is resolved here, relative to this file or the working directory, so the
// script works when run from anywhere, on a plugin that lives anywhere.

import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SDK_DIR = dirname(fileURLToPath(import.meta.url));

/// The WASI features a wasync plugin never gets: the host does not link `wasi:http`
/// (connectors use the host's own `http` import), and an ES module has no fetch event.
const DISABLED_FEATURES = ['http', 'fetch-event'];

const USAGE = 'usage: node build.mjs --wit WIT_DIR --world WORLD --entry FILE.js --out FILE.wasm';

/// Reads and checks the command line; throws a message for a person.
function options(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        wit: { type: 'string' },
        world: { type: 'string' },
        entry: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    throw new Error(`${e.message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const missing = ['wit', 'world', 'entry', 'out'].filter((name) => !values[name]);
  if (missing.length > 0) {
    throw new Error(`missing ${missing.map((m) => `--${m}`).join(', ')}\n${USAGE}`);
  }
  return {
    wit: resolve(values.wit),
    world: values.world,
    entry: resolve(values.entry),
    out: resolve(values.out),
  };
}

/// Imports a build tool from this SDK's node_modules, saying what to run when it is missing.
async function tool(name) {
  try {
    return await import(name);
  } catch (e) {
    throw new Error(
      `cannot load ${name} (${e.code ?? e.message}); install the SDK's tools first: ` +
        `npm ci --prefix ${SDK_DIR}`,
    );
  }
}

async function mustExist(path, what) {
  try {
    await stat(path);
  } catch {
    throw new Error(`${what} not found: ${path}`);
  }
}

/// Bundles `entry` into `bundlePath` as a single ES module.
async function bundle(entry, bundlePath) {
  const esbuild = await tool('esbuild');
  try {
    await esbuild.build({
      entryPoints: [entry],
      outfile: bundlePath,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      target: 'es2022',
      alias: { wasync: join(SDK_DIR, 'wasync.js') },
      nodePaths: [join(SDK_DIR, 'node_modules')],
      external: ['wasync:*'],
      logLevel: 'silent',
    });
  } catch (e) {
    const messages = (e.errors ?? []).map((m) => {
      const at = m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : '';
      return `  ${at}${m.text}`;
    });
    throw new Error(`cannot bundle ${entry}:\n${messages.join('\n') || e.message}`);
  }
}

async function main() {
  const opts = options(process.argv.slice(2));
  await mustExist(opts.entry, 'entry file');
  await mustExist(opts.wit, 'WIT folder');
  const { componentize } = await tool('@bytecodealliance/componentize-js');

  const work = await mkdtemp(join(tmpdir(), 'wasync-js-'));
  try {
    const bundlePath = join(work, 'plugin.js');
    await bundle(opts.entry, bundlePath);
    let component;
    try {
      ({ component } = await componentize({
        sourcePath: bundlePath,
        witPath: opts.wit,
        worldName: opts.world,
        disableFeatures: DISABLED_FEATURES,
      }));
    } catch (e) {
      throw new Error(`cannot build a \`${opts.world}\` component from ${opts.entry}:\n${e.message ?? e}`);
    }
    await writeFile(opts.out, component);
    console.log(opts.out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`error: ${e.message ?? e}`);
  process.exit(1);
});
