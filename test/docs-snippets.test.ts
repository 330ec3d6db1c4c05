import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as implementation from '../lib/index.js'

/**
 * Every code block of the docs marked `<!-- snippet: name -->` runs here, as written, with
 * `fastify-push-relations` mapped to this checkout's sources. Fragments get the few lines
 * they need around them (imports, an app); `await app.listen(...)` becomes an export.
 */

const root = join(__dirname, '..')
const scratch = join(__dirname, '.snippets')
mkdirSync(scratch, { recursive: true })

function snippets (file: string): Map<string, string> {
  const text = readFileSync(join(root, file), 'utf8')
  const found = new Map<string, string>()
  for (const match of text.matchAll(/<!-- snippet: ([\w-]+) -->\n```js\n([\s\S]*?)```/g)) {
    found.set(match[1] as string, match[2] as string)
  }
  return found
}

const header = [
  "import Fastify from 'fastify'",
  "import { Type } from '@sinclair/typebox'",
  "import pushRelations, { Push, ajvPlugin } from 'fastify-push-relations'"
].join('\n')

/** Writes the snippet as a module and imports it; it must export `app`. */
async function load (name: string, code: string): Promise<FastifyInstance> {
  const file = join(scratch, `${name}.mjs`)
  writeFileSync(file, code.replace('await app.listen({ port: 3000 })', '') + '\nexport { app }\n')
  const module = await t.mockImport<{ app: FastifyInstance }>(file, { 'fastify-push-relations': implementation })
  return module.app
}

const readme = snippets('README.md')

t.test('README snippets are all tested', async (t) => {
  t.same([...readme.keys()].sort(), ['ajv-plugin', 'annotations', 'decorators', 'quick-start'])
})

t.test('README: quick start', async (t) => {
  const app = await load('quick-start', readme.get('quick-start') as string)
  const response = await app.inject('/books/1')
  t.equal(response.headers.link, '</authors/1>; rel=preload; as=fetch, </reviews/1>; rel=preload; as=fetch, </reviews/2>; rel=preload; as=fetch')
  t.match(readme.get('quick-start'), response.headers.link as string, 'the comment in the snippet says what really comes out')
})

t.test('README: annotations', async (t) => {
  const code = `${header}\nconst app = Fastify()\nawait app.register(pushRelations)\n${readme.get('annotations') as string}\n` +
    "app.get('/reviews/:id', { schema: { response: { 200: Review } } }, async () => ({\n" +
    "  '@id': '/reviews/1', book: '/books/1', authorId: 7, publisher: { '@id': '/publishers/1', name: 'P' },\n" +
    "  cover: '/covers/1.jpg', related: ['/books/2', null, '/books/3']\n}))"
  const app = await load('annotations', code)
  t.equal((await app.inject('/reviews/1')).headers.link, [
    '</books/1>; rel=preload; as=fetch',
    '</authors/7>; rel=preload; as=fetch',
    '</publishers/1>; rel=preload; as=fetch',
    '</covers/1.jpg>; rel=preload; as=image; nopush',
    '</books/2>; rel=preload; as=fetch',
    '</books/3>; rel=preload; as=fetch'
  ].join(', '))
})

t.test('README: ajvPlugin lets a body schema carry x-push', async (t) => {
  const code = `${readme.get('ajv-plugin') as string}\n` +
    "app.post('/books', { schema: { body: { type: 'object', properties: { author: { type: 'string', 'x-push': true } } } } }, async (request) => request.body)"
  const app = await load('ajv-plugin', code)
  const response = await app.inject({ method: 'POST', url: '/books', payload: { author: '/authors/1' } })
  t.equal(response.statusCode, 200)
})

t.test('README: decorators', async (t) => {
  const code = `${header}\nconst app = Fastify()\nawait app.register(pushRelations)\n` +
    "const loadBookWithReviews = async () => ({ title: 'x' })\n" +
    "app.get('/books/:id', { schema: { response: { 200: Type.Object({ author: Push(Type.String()), reviews: Push(Type.Array(Type.String())) }) } } }, async () => ({ author: '/a', reviews: [] }))\n" +
    `${readme.get('decorators') as string}`
  const app = await load('decorators', code)
  t.equal((await app.inject('/slow-book')).headers.link, '</authors/1>; rel=preload; as=fetch')
  t.same(app.pushRelations.routes()[0], { method: 'GET', url: '/books/:id', responses: [{ status: '200', pointers: ['/author', '/reviews'] }] })
})

t.test('docs/annotations.md: every shape gives the links it says', async (t) => {
  const annotations = snippets('docs/annotations.md')
  t.same([...annotations.keys()], ['shapes'])
  const file = join(scratch, 'shapes.mjs')
  writeFileSync(file, `${header}\n${annotations.get('shapes') as string}\nexport { shapes }\n`)
  const { shapes } = await t.mockImport<{ shapes: Record<string, [unknown, unknown, string[]]> }>(file, { 'fastify-push-relations': implementation })
  const app = (await import('fastify')).default()
  await app.register(implementation.default)
  for (const [name, [schema, payload]] of Object.entries(shapes)) {
    app.get(`/${name}`, { schema: { response: { 200: schema as object } } }, async () => payload)
  }
  for (const [name, [, , expected]] of Object.entries(shapes)) {
    const link = (await app.inject(`/${name}`)).headers.link
    t.same(link === undefined ? [] : String(link).split(', ').map((entry) => entry.slice(1, entry.indexOf('>'))), expected, name)
  }
})

t.test('docs/http2-push.md: native push and early hints snippets', async (t) => {
  const guide = snippets('docs/http2-push.md')
  t.same([...guide.keys()], ['native-push', 'push-signal', 'early-hints'])
  const push = await load('native-push', guide.get('native-push') as string)
  await push.ready()
  t.equal(push.initialConfig.http2, true)

  const code = `${header}\nconst Book = Type.Object({ author: Push(Type.String()), reviews: Push(Type.Array(Type.String())) })\n` +
    "const authorIdOf = (id) => id\nconst loadBookWithReviews = async (id) => ({ author: '/authors/' + id, reviews: ['/reviews/' + id] })\n" +
    (guide.get('early-hints') as string)
  const hints = await load('early-hints', code)
  t.equal((await hints.inject('/books/4')).headers.link, '</authors/4>; rel=preload; as=fetch, </reviews/4>; rel=preload; as=fetch')

  const withSignal = `${header}\nconst app = Fastify()\n` +
    'const loadReport = async (id, { signal }) => ({ id, signal: signal instanceof AbortSignal && !signal.aborted })\n' +
    (guide.get('push-signal') as string)
  const reports = await load('push-signal', withSignal)
  t.same((await reports.inject('/reports/7')).json(), { id: '7', signal: true }, 'the handler gets the request\'s AbortSignal')
})

t.test('docs/vulcain.md: enabling, the clients and CORS', async (t) => {
  const guide = snippets('docs/vulcain.md')
  t.same([...guide.keys()], ['enable', 'relations-schema', 'client-fetch', 'client-http2', 'cors'])
  const enabled = await load('vulcain-enable', `${guide.get('enable') as string}\napp.get('/book', async () => ({ title: 'x', author: '/authors/1' }))`)
  t.same((await enabled.inject({ url: '/book', headers: { fields: '"/title"' } })).json(), { title: 'x' })
  t.same((await enabled.inject({ url: '/internal', headers: { fields: '"/nothing"' } })).json(), { ok: true }, 'the route that opts out')
  const schemaOnly = await load('vulcain-relations-schema', `${header}\n${guide.get('relations-schema') as string}`)
  t.equal((await schemaOnly.inject({ url: '/books/1', headers: { preload: '"/subtitle", "/author", "/publisher"' } })).headers.link,
    '</authors/1>; rel=preload; as=fetch, </publishers/1>; rel=preload; as=fetch', 'the subtitle is user text, not a relation')

  const { buildBookshop } = await t.mockImport<typeof import('../example/bookshop.mjs')>('../example/bookshop.mjs', { 'fastify-push-relations': implementation })
  const http1 = await buildBookshop({ pushRelations: { vulcain: true } })
  await http1.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await http1.close() })
  const fetchFile = join(scratch, 'client-fetch.mjs')
  writeFileSync(fetchFile, (guide.get('client-fetch') as string).replace('http://127.0.0.1:3000', `http://127.0.0.1:${(http1.server.address() as { port: number }).port}`) +
    '\nexport { book, author }\n')
  const { book, author } = await import(fetchFile) as { book: unknown, author: Response }
  t.same(book, { title: 'Nineteen Eighty-Four', author: '/authors/1' })
  t.same(await author.json(), { '@id': '/authors/1', name: 'George Orwell' })

  const h2 = await buildBookshop({ fastify: { http2: true } as object, pushRelations: { vulcain: true, push: true } })
  await h2.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await h2.close() })
  const http2File = join(scratch, 'client-http2.mjs')
  writeFileSync(http2File, (guide.get('client-http2') as string).replace('http://127.0.0.1:3000', `http://127.0.0.1:${(h2.server.address() as { port: number }).port}`) +
    '\nexport { pushed, bodies, collection }\n')
  const { pushed, bodies, collection } = await import(http2File) as { pushed: string[], bodies: Map<string, string>, collection: string }
  t.same([...pushed].sort(), ['/authors/1', '/authors/2'], 'the selected authors were pushed')
  t.same(JSON.parse(bodies.get('/authors/1') as string), { name: 'George Orwell' }, 'with what remains of Fields')
  t.same(JSON.parse(collection), { member: [{ author: '/authors/1' }, { author: '/authors/2' }] })

  const cors = await load('vulcain-cors', `${header}\nimport cors from '@fastify/cors'\nconst app = Fastify()\n${guide.get('cors') as string}\nawait app.register(pushRelations, { vulcain: true })\napp.get('/', async () => ({}))`)
  const preflight = await cors.inject({ method: 'OPTIONS', url: '/', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } })
  t.equal(preflight.headers['access-control-allow-headers'], 'Content-Type, Authorization, Preload, Fields')
})
