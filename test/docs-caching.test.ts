// docs/caching.md: its snippet runs as written, and its VCL blocks are the ones the Varnish
// end-to-end tests (test/cache-tags/cache-varnish.test.ts) run, only the backend port changed.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as implementation from '../lib/index.js'
import { CACHING_DOC, DOC_BACKEND, vclFor, vclFromDocs } from './helpers/varnish.js'

const doc = readFileSync(CACHING_DOC, 'utf8')

t.test('the cache-tags snippet tags and purges as its comments say', async (t) => {
  const code = /<!-- snippet: cache-tags -->\n```js\n([\s\S]*?)```/.exec(doc)?.[1] as string
  const scratch = join(__dirname, '.snippets')
  mkdirSync(scratch, { recursive: true })
  const file = join(scratch, 'cache-tags.mjs')
  writeFileSync(file, `${code}\nexport { app }\n`)
  const { app } = await t.mockImport<{ app: FastifyInstance }>(file, { 'fastify-push-relations': implementation })
  t.teardown(() => app.close())
  const { Type } = await import('@sinclair/typebox')
  app.get('/books/:id', {
    schema: { response: { 200: Type.Object({ '@id': Type.String(), author: implementation.Push(Type.String()), reviews: implementation.Push(Type.Array(Type.String())), publisher: Type.Object({ '@id': Type.String() }) }) } }
  }, async () => ({ '@id': '/books/1', author: '/authors/1', reviews: ['/reviews/1', '/reviews/2'], publisher: { '@id': '/publishers/1' } }))
  const tags = (await app.inject('/books/1')).headers['cache-tags'] as string
  t.equal(tags, '/books/1,/authors/1,/reviews/1,/reviews/2,/publishers/1')
  t.match(code, `Cache-Tags: ${tags}`)
})

t.test('the VCL blocks the tests run', async (t) => {
  for (const kind of ['ban', 'xkey'] as const) {
    const vcl = vclFromDocs(kind)
    t.match(vcl, /^vcl 4\.1;/, `${kind}: a whole VCL file`)
    t.ok(vcl.includes(DOC_BACKEND), `${kind}: names its backend port as the tests expect`)
    t.equal(vclFor(kind, 4321), vcl.replace(DOC_BACKEND, '.port = "4321";'), `${kind}: only the port changes`)
  }
  t.match(vclFromDocs('ban'), 'std.ban("obj.http.Cache-Tags ~ " + req.http.Cache-Tags-Ban-Regex)')
  t.match(vclFromDocs('xkey'), 'xkey.purge(req.http.xkey)')
  t.throws(() => vclFromDocs('ban', 'no block'), /no fenced block after <!-- vcl: ban -->/)
  t.throws(() => vclFromDocs('ban', '<!-- vcl: ban -->\n```vcl\nvcl 4.1;\n'), /not closed/)
})
