import t from 'tap'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { uncoveredChildEnv } from './helpers/child-env.js'

/**
 * The built package (`npm run build`, run by `pretest`) as users load it: by name, from a
 * CommonJS and an ES module. Run in child processes that record no coverage: `dist` is
 * generated code, whose sources are covered by the other tests.
 */
const root = join(__dirname, '..')

function run (args: string[]): string {
  const env = uncoveredChildEnv()
  return execFileSync(process.execPath, args, { cwd: root, env, encoding: 'utf8' })
}

t.test('require() returns the plugin, with default, pushRelations and the named exports', async (t) => {
  const output = run(['-e', `
    const pushRelations = require('fastify-push-relations')
    console.log(JSON.stringify({
      type: typeof pushRelations,
      default: pushRelations.default === pushRelations,
      named: pushRelations.pushRelations === pushRelations,
      Push: typeof pushRelations.Push,
      ajvPlugin: typeof pushRelations.ajvPlugin,
      meta: pushRelations[Symbol.for('plugin-meta')]
    }))
  `])
  t.same(JSON.parse(output), {
    type: 'function',
    default: true,
    named: true,
    Push: 'function',
    ajvPlugin: 'function',
    meta: { fastify: '5.x', name: 'fastify-push-relations' }
  })
})

t.test('import gets the same plugin instance as require (no dual-package hazard)', async (t) => {
  const output = run(['--input-type=module', '-e', `
    import { createRequire } from 'node:module'
    import pushRelations, { pushRelations as named, Push, ajvPlugin, KEYWORD } from 'fastify-push-relations'
    const required = createRequire(import.meta.url)('fastify-push-relations')
    console.log(JSON.stringify({ same: pushRelations === required, named: named === pushRelations, Push: typeof Push, ajvPlugin: typeof ajvPlugin, KEYWORD }))
  `])
  t.same(JSON.parse(output), { same: true, named: true, Push: 'function', ajvPlugin: 'function', KEYWORD: 'x-push' })
})

t.test('the built package works end to end from both module systems', async (t) => {
  const app = `
    const app = Fastify()
    await app.register(pushRelations)
    app.get('/', { schema: { response: { 200: Type.Object({ a: Push(Type.String()) }) } } }, async () => ({ a: '/a' }))
    console.log((await app.inject('/')).headers.link)
  `
  const esm = run(['--input-type=module', '-e', `
    import Fastify from 'fastify'
    import { Type } from '@sinclair/typebox'
    import pushRelations, { Push } from 'fastify-push-relations'
    ${app}
  `])
  const cjs = run(['-e', `
    const Fastify = require('fastify')
    const { Type } = require('@sinclair/typebox')
    const pushRelations = require('fastify-push-relations')
    const { Push } = pushRelations
    ;(async () => { ${app} })()
  `])
  t.equal(esm.trim(), '</a>; rel=preload; as=fetch')
  t.equal(cjs.trim(), '</a>; rel=preload; as=fetch')
})

t.test('package.json exports point at files that exist, with types for both conditions', async (t) => {
  const manifest = JSON.parse(run(['-p', 'JSON.stringify(require("./package.json"))'])) as { exports: { '.': Record<string, Record<string, string>> } }
  const targets = Object.values(manifest.exports['.']).flatMap((condition) => Object.values(condition))
  t.same(targets, ['./dist/entry-esm.d.mts', './dist/entry-esm.mjs', './dist/entry-commonjs.d.cts', './dist/entry-commonjs.cjs'])
  for (const target of targets) {
    t.equal(run(['-p', `require('node:fs').existsSync(${JSON.stringify(join(root, target))})`]).trim(), 'true', target)
  }
})
