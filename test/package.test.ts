import t from 'tap'
import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { uncoveredChildEnv } from './helpers/child-env.js'

/**
 * The package as users get it: `npm pack`, the tarball unpacked into a consumer project outside
 * this repository, type-checked (strict, `skipLibCheck: false`) and run from an ES module and
 * a CommonJS file, then linted by publint and "Are the Types Wrong?".
 *
 * The consumer's dependencies are links to this checkout's node_modules (no network, no npm
 * cache needed, a second or two): `fastify`, `@types/node` and exactly the `dependencies` of
 * the packed package.json, so a runtime dependency missing from it fails here. TypeBox is only
 * in a sub-folder (`typebox/`), so the files at the consumer's root prove that neither the
 * declarations nor the runtime need it.
 *
 * Child processes record no coverage: `dist` is generated code, whose sources are covered by
 * the other tests. `dist` is built by `pretest` (`npm test`).
 */
const root = join(__dirname, '..')
const types = join(__dirname, 'types')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

// A type check with skipLibCheck: false takes a while (about 15 s of CPU) on a loaded machine.
t.setTimeout(300_000)

interface Output { code: number, stdout: string, stderr: string }

function run (file: string, args: string[], cwd: string): Promise<Output> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: uncoveredChildEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr })
    })
  })
}

function node (args: string[], cwd: string): Promise<Output> {
  return run(process.execPath, args, cwd)
}

function link (from: string, name: string): void {
  const path = join(from, 'node_modules', name)
  mkdirSync(dirname(path), { recursive: true })
  symlinkSync(join(root, 'node_modules', name), path, 'dir')
}

function newest (dir: string, extension: RegExp): number {
  return Math.max(...readdirSync(dir).filter((name) => extension.test(name)).map((name) => statSync(join(dir, name)).mtimeMs))
}

const consumer = mkdtempSync(join(tmpdir(), 'fastify-push-relations-consumer-'))
const withTypeBox = join(consumer, 'typebox')
const installed = join(consumer, 'node_modules', 'fastify-push-relations')
let tarball = ''
let manifest: Record<string, unknown> & { scripts: Record<string, string>, dependencies: Record<string, string> }
let packedFiles: string[] = []
/** The slow checks, started together once the consumer is ready; each subtest awaits its own. */
let checks: Record<'types' | 'esm' | 'commonjs' | 'publint' | 'attw', Promise<Output>>

t.teardown(() => rmSync(consumer, { recursive: true, force: true }))

t.before(async () => {
  t.ok(newest(join(root, 'dist'), /\.js$/) >= newest(join(root, 'lib'), /\.[mc]?ts$/), 'dist/ is built from the current lib/ (npm run build)')
  // --ignore-scripts: prepack would rebuild dist/ while other test files read it.
  const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', consumer], root)
  if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr}`)
  const [result] = JSON.parse(packed.stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  tarball = join(consumer, (result as { filename: string }).filename)
  packedFiles = (result as { files: Array<{ path: string }> }).files.map((file) => file.path).sort()

  mkdirSync(join(consumer, 'node_modules'), { recursive: true })
  const unpacked = await run('tar', ['-xzf', tarball, '-C', join(consumer, 'node_modules')], consumer)
  if (unpacked.code !== 0) throw new Error(`tar failed: ${unpacked.stderr}`)
  renameSync(join(consumer, 'node_modules', 'package'), installed)
  manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'))

  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  for (const name of ['fastify', '@types/node', ...Object.keys(manifest.dependencies)]) link(consumer, name)
  mkdirSync(withTypeBox)
  for (const name of ['@sinclair/typebox', '@fastify/type-provider-typebox', 'typebox', 'type-provider-typebox-6']) link(withTypeBox, name)

  for (const file of ['commonjs.cts', 'no-typebox.mts', 'run-commonjs.cjs']) copyFileSync(join(types, file), join(consumer, file))
  for (const file of ['esm.mts', 'run-esm.mjs']) copyFileSync(join(types, file), join(withTypeBox, file))
  // A user's strict project for Node: no skipLibCheck, so the package's declarations are checked
  // too (only TypeScript's own lib files are skipped). One program for every file, to check the
  // libraries' declarations once: the root's files cannot resolve TypeBox, so the package's
  // declarations must not need it, while the file in typebox/ can. (test/types/typebox1.mts,
  // for typebox 1.x, is checked against the same declarations by `npm run typecheck`: checking
  // typebox 1.x's own declarations takes half a minute of CPU, and says nothing about this package.)
  const compilerOptions = { module: 'nodenext', target: 'es2022', lib: ['es2022'], strict: true, skipLibCheck: false, skipDefaultLibCheck: true, noEmit: true, types: ['node'] }
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['commonjs.cts', 'no-typebox.mts', 'typebox/esm.mts'] }))
  checks = {
    types: node([tsc, '-p', 'tsconfig.json'], consumer),
    esm: node(['run-esm.mjs'], withTypeBox),
    commonjs: node(['run-commonjs.cjs'], consumer),
    publint: run(join(root, 'node_modules', '.bin', 'publint'), ['run', tarball, '--strict'], consumer),
    attw: run(join(root, 'node_modules', '.bin', 'attw'), [tarball, '--format', 'ascii', '--no-color'], consumer)
  }
})

t.test('the tarball: the build, the docs, no sources, no install script', async (t) => {
  t.same(packedFiles.filter((path) => !path.startsWith('dist/')), [
    'LICENSE',
    'README.md',
    ...readdirSync(join(root, 'docs')).map((name) => `docs/${name}`).sort(),
    'package.json'
  ].concat(existsSync(join(root, 'CHANGELOG.md')) ? ['CHANGELOG.md'] : []).sort())
  t.same(packedFiles.filter((path) => path.startsWith('dist/') && !/\.(js|cjs|mjs|d\.ts|d\.cts|d\.mts|js\.map|cjs\.map|mjs\.map)$/.test(path)), [], 'only code, declarations and source maps in dist/')
  t.notOk(packedFiles.some((path) => path.endsWith('.tsbuildinfo') || path.endsWith('.d.ts.map')), 'no build info, no declaration maps pointing at lib/')
  const maps = packedFiles.filter((path) => path.endsWith('.map'))
  t.ok(maps.length > 0)
  t.same(maps.filter((path) => {
    const map = JSON.parse(readFileSync(join(installed, path), 'utf8')) as { sources: string[], sourcesContent?: string[] }
    return map.sourcesContent?.length !== map.sources.length
  }), [], 'every source map carries the sources it names (lib/ is not in the tarball)')
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
    t.notOk(script in manifest.scripts, `no "${script}" script runs on the user's machine`)
  }
  t.equal(manifest.scripts.prepack, 'npm run build', 'the build runs when packing')
})

t.test('package.json: the @fastify conventions, TypeBox optional', async (t) => {
  t.equal(manifest.type, 'commonjs')
  t.type(manifest.author, 'string')
  t.ok((manifest.keywords as string[]).includes('fastify-plugin'))
  t.same(Object.keys(manifest.peerDependencies as object).sort(), ['@sinclair/typebox', 'fastify', 'typebox'])
  t.same(manifest.peerDependenciesMeta, { '@sinclair/typebox': { optional: true }, typebox: { optional: true } })
  const exportsMap = manifest.exports as { '.': Record<string, Record<string, string>> }
  const targets = Object.values(exportsMap['.']).flatMap((condition) => Object.values(condition))
  t.same(targets, ['./dist/entry-esm.d.mts', './dist/entry-esm.mjs', './dist/entry-commonjs.d.cts', './dist/entry-commonjs.cjs'])
  for (const target of [...targets, manifest.main as string, manifest.types as string]) {
    t.ok(existsSync(join(installed, target)), `${target} is in the tarball`)
  }
})

t.test('every relative link of the README leads to a file of the tarball', async (t) => {
  const readme = readFileSync(join(installed, 'README.md'), 'utf8')
  const relative = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
  t.ok(relative.length > 0)
  for (const target of relative) {
    t.ok(existsSync(join(installed, target.split('#')[0] as string)), target)
  }
})

t.test('types, as users get them (strict, skipLibCheck: false)', async (t) => {
  // CommonJS and ES module files with plain JSON Schema and no TypeBox installed, and an ES
  // module with @sinclair/typebox 0.34 and its provider, using every public type.
  const output = await checks.types
  t.same({ code: output.code, output: output.stdout }, { code: 0, output: '' })
})

t.test('runs as an ES module with both TypeBox lines and plain JSON Schema', async (t) => {
  const output = await checks.esm
  t.equal(output.stderr, '')
  const links = '</publishers/1>; rel=preload; as=fetch, </authors/1>; rel=preload; as=fetch, </reviews/7>; rel=preload; as=fetch'
  t.same(JSON.parse(output.stdout), {
    links: { sinclair: links, typebox1: links, plain: links },
    same: true,
    KEYWORD: 'x-push',
    routes: ['POST /sinclair', 'POST /typebox1', 'POST /plain']
  })
})

t.test('runs from CommonJS without TypeBox installed, the same instance as import', async (t) => {
  const output = await checks.commonjs
  t.equal(output.stderr, '')
  t.same(JSON.parse(output.stdout), {
    link: '</publishers/1>; rel=preload; as=fetch, </authors/1>; rel=preload; as=fetch',
    type: 'function',
    named: true,
    imported: true,
    meta: { fastify: '5.x', name: 'fastify-push-relations' }
  })
})

t.test('publint finds nothing to report', async (t) => {
  const output = await checks.publint
  t.equal(output.code, 0, output.stdout + output.stderr)
  t.match(output.stdout, /All good!/)
})

t.test('Are the Types Wrong? finds no problem for node10, node16 (CJS and ESM) and bundlers', async (t) => {
  const output = await checks.attw
  t.equal(output.code, 0, output.stdout + output.stderr)
  t.match(output.stdout, /No problems found/)
})
