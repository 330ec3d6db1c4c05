import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import cors from '@fastify/cors'
import compress from '@fastify/compress'
import { Type } from '@sinclair/typebox'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { parseList } from 'structured-headers'
import pushRelations, { Push, type PushRelationsOptions } from '../../lib/index.js'
import { resolveOptions } from '../../lib/options.js'
import { buildApp } from '../helpers/build.js'
import { connect, type H2Response } from '../helpers/h2client.js'

/**
 * The Vulcain protocol (draft-dunglas-vulcain-01). The resources are the draft's own examples;
 * each test names the part of the draft it checks.
 */

const drafts: Record<string, unknown> = {
  '/books': { member: ['/books/1', '/books/2'] },
  '/books/1': { title: '1984', genre: 'novel', author: '/authors/1' },
  '/books/2': { title: 'Homage to Catalonia', author: '/authors/1' },
  '/authors/1': { givenName: 'George', familyName: 'Orwell' }
}

function serveDraft (app: FastifyInstance): void {
  for (const [url, document] of Object.entries(drafts)) app.get(url, async () => document)
}

async function draftApp (options: PushRelationsOptions = {}): Promise<FastifyInstance> {
  const { app } = await buildApp({ vulcain: true, ...options })
  serveDraft(app)
  return app
}

const entry = (path: string, suffix = ''): string => `<${path}>; rel=preload; as=fetch${suffix}`

async function get (app: FastifyInstance, url: string, headers: Record<string, string> = {}): Promise<{ status: number, body: unknown, link: string | undefined, vary: string | undefined }> {
  const response = await app.inject({ url, headers })
  return { status: response.statusCode, body: response.json(), link: response.headers.link as string | undefined, vary: response.headers.vary as string | undefined }
}

t.test('Preload (draft section "Preload Header"): the selected relations are preloaded, the body is untouched', async (t) => {
  const app = await draftApp()
  const books = await get(app, '/books', { preload: '"/member/*/author"' })
  t.same(books.body, drafts['/books'])
  t.equal(books.link, `${entry('/books/1')}, ${entry('/books/2')}`, 'the traversed resources; the authors are one hop further')
  const book = await get(app, '/books/1', { preload: '"/author"' })
  t.equal(book.link, entry('/authors/1'), 'the request a client sends for the next hop, with the remaining selector')
  t.equal(book.vary, 'Preload, Fields')
})

t.test('several selectors in one line or in repeated lines; parameters are kept along (draft: E1, E2)', async (t) => {
  const app = await draftApp()
  app.get('/mixed', async () => ({ author: '/authors/1', comments: ['/comments/1', '/comments/2'], related: '/books/2' }))
  const oneLine = await get(app, '/mixed', { preload: '"/author", "/comments/*"' })
  t.equal(oneLine.link, [entry('/authors/1'), entry('/comments/1'), entry('/comments/2')].join(', '))
  const response = await app.inject({ url: '/mixed', headers: { preload: ['"/author"; hreflang="fr-FR"', '"/related"; type="application/ld+json"'] } })
  t.equal(response.headers.link, `${entry('/authors/1')}, ${entry('/books/2')}`, 'two Preload lines are one list')
  const all = await get(app, '/mixed', { preload: '""; rel=author' })
  t.equal(all.link, undefined, 'the empty selector means the document\'s own links: the x-push fields, none here')
})

t.test('the empty selector matches the x-push relations of the document', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/book', { schema: { response: { 200: Type.Object({ author: Push(Type.String()), title: Type.String() }) } } }, async () => ({ author: '/authors/1', title: 'x' }))
  t.equal((await get(app, '/book', { preload: '""' })).link, entry('/authors/1'))
})

t.test('Fields (draft section "Fields Header"; E4): only the selected fields, and the preload inside them', async (t) => {
  const app = await draftApp()
  const response = await get(app, '/books/1', { preload: '"/author"', fields: '"/author/familyName", "/genre"' })
  t.same(response.body, { genre: 'novel', author: '/authors/1' })
  t.equal(JSON.stringify(response.body), '{"genre":"novel","author":"/authors/1"}', 'in document order')
  t.equal(response.link, entry('/authors/1'))
  t.same((await get(app, '/authors/1', { fields: '"/familyName"' })).body, { familyName: 'Orwell' }, 'the pushed author, filtered')
})

t.test('a Preload outside the Fields selection is not applied', async (t) => {
  const app = await draftApp()
  const response = await get(app, '/books/1', { preload: '"/author"', fields: '"/title"' })
  t.same(response.body, { title: '1984' })
  t.equal(response.link, undefined)
})

t.test('Fields semantics: missing fields, arrays, wildcards over objects, indexes, escapes', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/doc', async () => ({
    items: [{ a: 1, b: 2 }, { b: 3 }, { c: 4 }, { a: 5 }],
    map: { x: { a: 1, b: 2 }, y: { a: 3, b: 4 } },
    'a/b': 'slash',
    'a~b': 'tilde',
    '*': 'star',
    other: 'kept out'
  }))
  const fields = async (value: string): Promise<unknown> => (await get(app, '/doc', { fields: value })).body
  t.same(await fields('"/items/*/a"'), { items: [{ a: 1 }, {}, {}, { a: 5 }] }, 'an element lacking the fields becomes {}')
  t.same(await fields('"/items/2", "/items/0/b"'), { items: [{ b: 2 }, null, { c: 4 }] }, 'explicit indexes keep their positions')
  t.same(await fields('"/map/*/a"'), { map: { x: { a: 1 }, y: { a: 3 } } }, '* over object members')
  t.same(await fields('"/map/*/a", "/map/x/b"'), { map: { x: { a: 1, b: 2 }, y: { a: 3 } } }, 'every matched field is returned, * and a name together')
  t.same(await fields('"/a~1b", "/a~0b", "/~2"'), { 'a/b': 'slash', 'a~b': 'tilde', '*': 'star' }, '~1, ~0 and ~2')
  t.same(await fields('"/nothing", "/items/9/a"'), { items: [] }, 'missing fields are left out')
  t.same(await fields('"/map"'), { map: { x: { a: 1, b: 2 }, y: { a: 3, b: 4 } } }, 'a selector that ends selects the whole value')
})

t.test('Fields with a response schema: required properties are no 500, and fields outside the schema never leak', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  const Book = Type.Object({ title: Type.String(), genre: Type.String(), author: Push(Type.String()) })
  app.get('/book', { schema: { response: { 200: Book } } }, async () => ({ title: '1984', genre: 'novel', author: '/authors/1', secret: 'not in the schema' }))
  const title = await get(app, '/book', { fields: '"/title"' })
  t.equal(title.status, 200)
  t.same(title.body, { title: '1984' })
  t.equal(title.link, undefined, 'the x-push author is not in the response: no link')
  t.same((await get(app, '/book', { fields: '"/secret", "/title"' })).body, { title: '1984' })
  t.equal((await get(app, '/book', { fields: '"/author"' })).link, entry('/authors/1'), 'x-push links of the selected fields stay')
})

t.test('Fields with a content-type map serializes with that media type\'s schema', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/book', {
    schema: { response: { 200: { content: { 'application/ld+json': { schema: Type.Object({ title: Type.String(), author: Type.String() }) } } } } }
  }, async (_request, reply) => reply.type('application/ld+json').send({ title: '1984', author: '/authors/1', hidden: true }))
  const response = await app.inject({ url: '/book', headers: { fields: '"/title", "/hidden"' } })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { title: '1984' })
  t.match(response.headers['content-type'], /^application\/ld\+json/)
})

t.test('x-push templates make fields relations for Vulcain too (draft: "computing links server-side", E11)', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  const Book = Type.Object({ title: Type.String(), author: Type.Integer({ 'x-push': { template: '/authors/{id}', nopush: true } }) })
  app.get('/books/1', { schema: { response: { 200: Book } } }, async () => ({ title: '1984', author: 1 }))
  t.equal((await get(app, '/books/1', { preload: '"/author"' })).link, entry('/authors/1', '; nopush'))
  const query = await get(app, '/books/1?preload=%22%2Fauthor%2Fbooks%22')
  t.same(query.body, { title: '1984', author: 1 }, 'a number cannot carry the selector in the body...')
  t.equal(query.link, `${entry('/authors/1?preload=%22%2Fbooks%22', '; nopush')}, ${entry('/authors/1', '; nopush')}`,
    '...but its link does (and the x-push field keeps its plain link)')
})

t.test('query form (draft section "Query Parameters"; E8, E9): links in the body and in the header carry what remains', async (t) => {
  const app = await draftApp()
  const e8 = await get(app, '/books/1?fields=%22%2Ftitle%22%2C%22%2Fauthor%22&preload=%22%2Fauthor%22')
  t.same(e8.body, { title: '1984', author: '/authors/1' })
  t.equal(e8.link, entry('/authors/1'))

  const e9 = await get(app, '/books?preload=%22%2Fmember%2F%2A%2Fauthor%22')
  t.same(e9.body, { member: ['/books/1?preload=%22%2Fauthor%22', '/books/2?preload=%22%2Fauthor%22'] })
  t.equal(e9.link, `${entry('/books/1?preload=%22%2Fauthor%22')}, ${entry('/books/2?preload=%22%2Fauthor%22')}`)
  const next = await get(app, '/books/1?preload=%22%2Fauthor%22')
  t.equal(next.link, entry('/authors/1'), 'following the rewritten link preloads the next hop')

  const fieldsOnly = await get(app, '/books?fields=%22%2Fmember%2F%2A%2Ftitle%22')
  t.same(fieldsOnly.body, { member: ['/books/1?fields=%22%2Ftitle%22', '/books/2?fields=%22%2Ftitle%22'] }, 'E5: Fields travel too')
  t.equal(fieldsOnly.link, undefined, 'nothing preloaded without Preload')

  const repeated = await get(app, '/books/1?fields=%22%2Ftitle%22&fields=%22%2Fgenre%22')
  t.same(repeated.body, { title: '1984', genre: 'novel' }, 'repeated query parameters are one list')

  const header = await get(app, '/books/1?fields=%22%2Ftitle%22', { fields: '"/genre"' })
  t.same(header.body, { genre: 'novel' }, 'the header wins over the query')
})

t.test('query form with parameters (E10): they travel with the remaining selector', async (t) => {
  const app = await draftApp()
  const response = await get(app, '/books?preload=%22%2Fmember%2F%2A%22%3B%20rel%3Dauthor')
  const { member } = response.body as { member: string[] }
  t.same(member, ['/books/1?preload=%22%22%3Brel%3Dauthor', '/books/2?preload=%22%22%3Brel%3Dauthor'])
  for (const url of member) {
    const remainder = new URL(url, 'http://x').searchParams.get('preload') as string
    t.same(parseList(remainder).map(([value, parameters]) => [value, String(parameters.get('rel'))]), [['', 'author']], 'the draft\'s ""; rel=author')
  }
})

t.test('existing query strings of relations are kept', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/list', async () => ({ next: '/books?page=2' }))
  t.same((await get(app, '/list?preload=%22%2Fnext%2Fmember%22')).body, { next: '/books?page=2&preload=%22%2Fmember%22' })
})

t.test('Vary: Preload, Fields on every response of a Vulcain route; opt-out per route', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/plain', async () => ({ a: 1 }))
  app.get('/varied', async (_request, reply) => reply.header('vary', 'Accept-Encoding').send({ a: 1 }))
  app.get('/preload-varied', async (_request, reply) => reply.header('vary', 'preload').send({ a: 1 }))
  app.get('/star', async (_request, reply) => reply.header('vary', '*').send({ a: 1 }))
  app.get('/opted-out', { config: { pushRelations: { vulcain: false } } }, async () => ({ author: '/authors/1', title: 'x' }))
  t.equal((await get(app, '/plain')).vary, 'Preload, Fields', 'even without directives')
  t.equal((await get(app, '/varied')).vary, 'Accept-Encoding, Preload, Fields')
  t.equal((await get(app, '/preload-varied')).vary, 'preload, Fields')
  t.equal((await get(app, '/star')).vary, '*')
  const optedOut = await get(app, '/opted-out', { preload: '"/author"', fields: '"/title"' })
  t.same(optedOut.body, { author: '/authors/1', title: 'x' })
  t.equal(optedOut.link, undefined)
  t.equal(optedOut.vary, undefined)
})

t.test('off by default', async (t) => {
  const { app } = await buildApp()
  serveDraft(app)
  const response = await get(app, '/books/1', { preload: '"/author"', fields: '"/title"' })
  t.same(response.body, drafts['/books/1'])
  t.equal(response.link, undefined)
  t.equal(response.vary, undefined)
})

t.test('bad input is ignored as if absent, with a debug line', async (t) => {
  const { app, logs } = await buildApp({ vulcain: { maxSelectors: 2, maxSelectorDepth: 3, maxDirectiveBytes: 64 } })
  serveDraft(app)
  const cases: Array<[string, string]> = [
    ['/author', 'invalid'],
    ['"/author",', 'invalid'],
    ['42', 'invalid'],
    ['("/author")', 'invalid'],
    ['"author"', 'invalid'],
    ['"/a", "/b", "/c"', 'too-many'],
    ['"/a/b/c/d"', 'too-deep'],
    [`"/${'a'.repeat(70)}"`, 'too-long']
  ]
  for (const [value, problem] of cases) {
    logs.length = 0
    const response = await get(app, '/books/1', { preload: value, fields: value })
    t.equal(response.status, 200, value)
    t.same(response.body, drafts['/books/1'], value)
    t.equal(response.link, undefined, value)
    t.same(logs.filter((line) => line.msg === 'fastify-push-relations: Vulcain directive ignored').map((line) => [line.directive, line.problem]),
      [['preload', problem], ['fields', problem]], value)
  }
  const good = await get(app, '/books/1', { preload: '"/author"', fields: 'not a list' })
  t.same(good.body, drafts['/books/1'], 'an invalid Fields does not cancel a valid Preload')
  t.equal(good.link, entry('/authors/1'))
})

t.test('responses that are not JSON, not 2xx, or refuse transforms pass through', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/text', async (_request, reply) => reply.type('text/plain').send('/authors/1'))
  app.get('/html-object', async (_request, reply) => reply.type('text/html').send({ author: '/authors/1' }))
  app.get('/missing', async (_request, reply) => reply.code(404).send({ author: '/authors/1', title: 'x' }))
  app.get('/no-transform', async (_request, reply) => reply.header('cache-control', 'public, no-transform').send({ author: '/authors/1', title: 'x' }))
  app.get('/css', async () => ({ author: '/authors/1', title: 'x' }))
  const headers = { preload: '"/author"', fields: '"/title"' }
  t.equal((await app.inject({ url: '/text', headers })).body, '/authors/1')
  t.equal((await app.inject({ url: '/html-object', headers })).headers.link, undefined)
  const missing = await get(app, '/missing', headers)
  t.same(missing.body, { author: '/authors/1', title: 'x' })
  t.equal(missing.link, undefined)
  const noTransform = await get(app, '/no-transform', headers)
  t.same(noTransform.body, { author: '/authors/1', title: 'x' }, 'Cache-Control: no-transform keeps the body whole')
  t.equal(noTransform.link, entry('/authors/1'), 'Fields is not applied, so the author is in the response, and preloaded')
  const css = await get(app, '/css', { ...headers, prefer: 'selector=css' })
  t.same(css.body, { author: '/authors/1', title: 'x' }, 'Prefer: selector=css is not JSON Pointer')
  t.equal(css.link, undefined)
  t.same((await get(app, '/css', { ...headers, prefer: 'return=minimal; selector="json-pointer"' })).body, { title: 'x' })
})

t.test('the query form can be turned off', async (t) => {
  const app = await draftApp({ vulcain: { query: false } })
  const response = await get(app, '/books/1?fields=%22%2Ftitle%22')
  t.same(response.body, drafts['/books/1'])
})

t.test('works with @fastify/cors (preflight allows the headers, Link is exposed) and @fastify/compress', async (t) => {
  const app = Fastify()
  await app.register(cors, { origin: 'https://app.example', allowedHeaders: ['Preload', 'Fields'], exposedHeaders: ['Link'] })
  await app.register(compress, { threshold: 0 })
  await app.register(pushRelations, { vulcain: true })
  serveDraft(app)
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/books/1',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'preload, fields' }
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-headers'], 'Preload, Fields')
  const response = await app.inject({
    url: '/books/1',
    headers: { origin: 'https://app.example', preload: '"/author"', fields: '"/author", "/title"', 'accept-encoding': 'gzip' }
  })
  t.equal(response.headers['content-encoding'], 'gzip')
  t.same(JSON.parse(gunzipSync(response.rawPayload).toString()), { title: '1984', author: '/authors/1' }, 'filtered before compression')
  t.equal(response.headers.link, entry('/authors/1'))
  t.equal(response.headers['access-control-expose-headers'], 'Link')
  t.match(response.headers.vary, /Preload, Fields/)
})

async function h2App (t: Test, options: PushRelationsOptions = {}): Promise<string> {
  const app = Fastify({ http2: true })
  await app.register(pushRelations, { vulcain: true, push: true, ...options })
  serveDraft(app as unknown as FastifyInstance)
  // The shape of the Go gateway's issue #89: a relation of a relation of a relation, with Fields at each level.
  app.get('/people/1', async () => ({ name: 'Ann', author: '/writers/1' }))
  app.get('/writers/1', async () => ({ givenName: 'George', familyName: 'Orwell', comments: '/writers/1/comments' }))
  app.get('/writers/1/comments', async () => ({ total: 1, comments: ['/comments/1'] }))
  app.get('/comments/1', async () => ({ body: 'Great', date: '2026-11-25' }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

async function h2get (t: Test, origin: string, path: string, headers: Record<string, string>): Promise<H2Response> {
  const client = await connect(origin)
  t.teardown(async () => { await client.close() })
  return await client.get(path, headers)
}

t.test('push (E3): the traversed resources with the remaining selector, then the next hop, once', async (t) => {
  const origin = await h2App(t)
  const response = await h2get(t, origin, '/books', { preload: '"/member/*/author"' })
  t.same(response.pushes.map((push) => [push.path, push.request.preload, push.status]), [
    ['/books/1', '"/author"', 200],
    ['/books/2', '"/author"', 200],
    ['/authors/1', undefined, 200]
  ], '/authors/1 is referenced twice and pushed once, although pushDepth is 1: the selector goes that far')
  t.equal(response.headers.link, `${entry('/books/1', '; nopush')}, ${entry('/books/2', '; nopush')}`)
  t.same(JSON.parse(response.pushes[2]?.body as string), drafts['/authors/1'])
})

t.test('push with Fields (E4): the pushed resource is filtered by what remains', async (t) => {
  const origin = await h2App(t)
  const response = await h2get(t, origin, '/books/1', { preload: '"/author"', fields: '"/author/familyName", "/genre"' })
  t.same(JSON.parse(response.body), { genre: 'novel', author: '/authors/1' })
  t.equal(response.pushes.length, 1)
  t.same([response.pushes[0]?.request.fields, response.pushes[0]?.request.preload], ['"/familyName"', undefined])
  t.same(JSON.parse(response.pushes[0]?.body as string), { familyName: 'Orwell' })
})

t.test('push: Fields deeper than a Preload leaf keep the preload, hop after hop (the Go gateway\'s open bug #89)', async (t) => {
  const origin = await h2App(t)
  const response = await h2get(t, origin, '/people/1', {
    preload: '"/author", "/author/comments/comments/*"',
    fields: '"/author/familyName", "/author/comments/comments/*/body"'
  })
  t.same(JSON.parse(response.body), { author: '/writers/1' })
  t.same(response.pushes.map((push) => [push.path, push.request.preload, push.request.fields, JSON.parse(push.body)]), [
    ['/writers/1', '"/comments/comments/*"', '"/familyName", "/comments/comments/*/body"', { familyName: 'Orwell', comments: '/writers/1/comments' }],
    ['/writers/1/comments', '"/comments/*"', '"/comments/*/body"', { comments: ['/comments/1'] }],
    ['/comments/1', undefined, '"/body"', { body: 'Great' }]
  ])
})

t.test('push: the query form pushes the rewritten URLs', async (t) => {
  const origin = await h2App(t)
  const response = await h2get(t, origin, '/books?preload=%22%2Fmember%2F%2A%2Fauthor%22', {})
  t.same(response.pushes.map((push) => push.path), ['/books/1?preload=%22%2Fauthor%22', '/books/2?preload=%22%2Fauthor%22', '/authors/1'])
})

t.test('push without Vulcain selectors follows pushDepth only', async (t) => {
  const origin = await h2App(t)
  const response = await h2get(t, origin, '/books/1', { fields: '"/author"' })
  t.same(response.pushes, [], 'Fields alone preloads nothing')
})

t.test('the extended JSON Pointer example (draft section "Selectors", E7)', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/shelf', async () => ({
    books: [
      { title: '1984', author: 'George Orwell' },
      { title: "The Handmaid's Tale", author: 'Margaret Atwood' }
    ]
  }))
  const response = await get(app, '/shelf', { fields: '"/books/*/author"', preload: '"/books/*/author"' })
  t.same(response.body, { books: [{ author: 'George Orwell' }, { author: 'Margaret Atwood' }] }, '/books/*/author selects the author of every book')
  t.equal(response.link, undefined, 'names are no links: nothing to preload')
})

// Regressions found by the differential run against the Go gateway (issue 9).

t.test('Fields and the query form work on the payload object: big integers stay exact, JSON.parse is never called', async (t) => {
  const app = Fastify()
  await app.register(pushRelations, { vulcain: true })
  const Book = Type.Object({ isbn: Type.Integer(), count: Type.Integer(), title: Type.String(), author: Push(Type.String()) })
  app.get('/books/1', { schema: { response: { 200: Book } } }, async () => ({ isbn: 9780451524935123n, count: 9007199254740993n, title: '1984', author: '/authors/1' }))
  const parse = JSON.parse
  let calls = 0
  JSON.parse = function countedParse (...args: Parameters<typeof JSON.parse>) {
    calls++
    return parse.apply(JSON, args) as unknown
  }
  let bodies: string[]
  try {
    bodies = await Promise.all([
      app.inject({ url: '/books/1', headers: { fields: '"/isbn", "/count", "/author"' } }),
      app.inject({ url: '/books/1?fields=%22%2Fisbn%22%2C%22%2Fauthor%22&preload=%22%2Fauthor%2Fx%22' })
    ].map(async (response) => (await response).body))
  } finally {
    JSON.parse = parse
  }
  t.equal(calls, 0, 'no JSON.parse on any path')
  t.equal(bodies[0], '{"isbn":9780451524935123,"count":9007199254740993,"author":"/authors/1"}')
  t.equal(bodies[1], '{"isbn":9780451524935123,"author":"/authors/1?preload=%22%2Fx%22"}')
})

t.test('Fields on a shared schema with required properties ($ref): the derived schema, no 500', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.addSchema(Type.Object({ '@id': Type.String(), name: Type.String(), born: Type.Integer() }, { $id: 'Writer' }))
  app.get('/writers/1', { schema: { response: { 200: Type.Ref('Writer') } } }, async () => ({ '@id': '/writers/1', name: 'Orwell', born: 1903, secret: 'x' }))
  app.get('/shelf', { schema: { response: { 200: Type.Object({ writers: Type.Array(Type.Ref('Writer')) }) } } }, async () => ({ writers: [{ '@id': '/writers/1', name: 'Orwell', born: 1903 }] }))
  const one = await app.inject({ url: '/writers/1', headers: { fields: '"/name", "/secret"' } })
  t.equal(one.statusCode, 200)
  t.equal(one.body, '{"name":"Orwell"}', 'the schema still keeps out what it does not declare')
  t.equal((await app.inject({ url: '/shelf', headers: { fields: '"/writers/*/born"' } })).body, '{"writers":[{"born":1903}]}')
  t.equal((await app.inject({ url: '/writers/1', headers: { fields: '"/born"' } })).body, '{"born":1903}', 'compiled once, used again')
})

t.test('an empty Fields (header or ?fields=) is an absent one: the whole document', async (t) => {
  const app = await draftApp()
  t.same((await get(app, '/books/1', { fields: '' })).body, drafts['/books/1'])
  t.same((await get(app, '/books/1?fields=')).body, drafts['/books/1'])
  const withPreload = await get(app, '/books/1?fields=', { preload: '"/author"' })
  t.same(withPreload.body, drafts['/books/1'])
  t.equal(withPreload.link, entry('/authors/1'))
})

t.test('query form: the remaining selectors go before a #fragment', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/doc', async () => ({ next: '/t/foo#frag', other: '/t/bar?page=2#top' }))
  const response = await get(app, '/doc?preload=%22%2Fnext%2Fx%22%2C%22%2Fother%2Fy%22')
  t.same(response.body, { next: '/t/foo?preload=%22%2Fx%22#frag', other: '/t/bar?page=2&preload=%22%2Fy%22#top' })
  t.notMatch(response.link, /#/, 'links never carry fragments')
  t.match(response.link, '</t/foo?preload=%22%2Fx%22>')
})

t.test('query form on a route whose querystring schema strips unknown parameters: read from the raw URL', async (t) => {
  const { app } = await buildApp({ vulcain: true }, { ajv: { customOptions: { removeAdditional: 'all' } } })
  app.get('/books/1', { schema: { querystring: { type: 'object', properties: { lang: { type: 'string' } }, additionalProperties: false } } }, async (request) => {
    t.same(request.query, { lang: 'en' }, 'Fastify stripped them from request.query')
    return drafts['/books/1']
  })
  const response = await get(app, '/books/1?lang=en&fields=%22%2Ftitle%22&preload=%22%2Fauthor%22')
  t.same(response.body, { title: '1984' })
})

t.test('an invalid header does not throw away a valid query parameter', async (t) => {
  const app = await draftApp()
  const response = await get(app, '/books/1?fields=%22%2Fauthor%22', { fields: '"/title' })
  t.same(response.body, { author: '/authors/1' })
  const preload = await get(app, '/books/1?preload=%22%2Fauthor%22', { preload: 'nope' })
  t.equal(preload.link, entry('/authors/1?'.slice(0, -1)))
  t.same((await get(app, '/books/1?fields=%ZZ', { fields: '"/genre"' })).body, { genre: 'novel' }, 'a valid header, a parameter that does not decode')
  t.same((await get(app, '/books/1?fields=%ZZ')).body, drafts['/books/1'], 'a parameter that does not decode is ignored')
})

t.test('the requested document is never preloaded or rewritten: "/*" on a collection with its own @id', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/books', async () => ({ '@id': '/books', member: ['/books/1'], self: 'http://localhost:80/books' }))
  const header = await get(app, '/books', { preload: '"/*", "/member/*", "/@id/x"' })
  t.equal(header.link, entry('/books/1'))
  const query = await get(app, '/books?preload=%22%2F%2A%22%2C%22%2Fmember%2F%2A%22')
  t.same(query.body, { '@id': '/books', member: ['/books/1'], self: 'http://localhost:80/books' }, 'its own link keeps its form')
  t.equal(query.link, entry('/books/1'))
})

t.test('pre-serialized payloads are left alone, with Vary all the same', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/string', async (_request, reply) => reply.type('application/json').send('{"title":"1984","author":"/authors/1"}'))
  app.get('/buffer', async (_request, reply) => reply.type('application/json').send(Buffer.from('{"title":"1984"}')))
  for (const url of ['/string', '/buffer']) {
    const response = await app.inject({ url, headers: { fields: '"/author"', preload: '"/author"' } })
    t.match(response.body, /"title":"1984"/, url)
    t.equal(response.headers.link, undefined, url)
    t.equal(response.headers.vary, 'Preload, Fields', url)
  }
})

async function h2Bookshop (t: Test, options: PushRelationsOptions = {}): Promise<string> {
  const app = Fastify({ http2: true })
  await app.register(pushRelations, { vulcain: true, push: true, ...options })
  const Member = Type.Object({ '@id': Type.String(), author: Push(Type.String()), publisher: Push(Type.String()), reviews: Type.Array(Type.String()) })
  app.get('/books', { schema: { response: { 200: Type.Object({ member: Type.Array(Member) }) } } }, async () => ({
    member: [
      { '@id': '/books/1', author: '/authors/1', publisher: '/publishers/1', reviews: ['/reviews/1', '/reviews/2'] },
      { '@id': '/books/2', author: '/authors/2', publisher: '/publishers/2', reviews: ['/reviews/3'] }
    ]
  }))
  const Book = Type.Object({ title: Type.String(), author: Push(Type.String()) })
  app.get('/books/:id', { schema: { response: { 200: Book } } }, async (request) => ({ title: `Book ${(request.params as { id: string }).id}`, author: '/authors/1' }))
  app.get('/authors/:id', async (request, reply) => request.headers.preload === '"/gone"' ? reply.code(404).send({}) : { name: 'Orwell', born: 1903, publisher: '/publishers/1' })
  app.get('/handler-first', async (_request, reply) => {
    reply.preload('/authors/1')
    return { author: '/authors/1' }
  })
  app.get('/publishers/:id', async () => ({ name: 'Secker' }))
  app.get('/reviews/:id', async (request) => ({ book: (request.params as { id: string }).id === '3' ? '/books/2' : '/books/1' }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

t.test('push: x-push relations carry the Fields remainder', async (t) => {
  const origin = await h2Bookshop(t)
  const response = await h2get(t, origin, '/books/1', { fields: '"/author/name", "/title"' })
  t.same(JSON.parse(response.body), { title: 'Book 1', author: '/authors/1' })
  t.same(response.pushes.map((push) => [push.path, push.request.fields, JSON.parse(push.body)]), [['/authors/1', '"/name"', { name: 'Orwell' }]])
})

t.test('push: the client\'s selection is pushed first, x-push relations get what is left of maxPushes', async (t) => {
  const origin = await h2Bookshop(t, { maxPushes: 5 })
  const response = await h2get(t, origin, '/books', { preload: '"/member/*/reviews/*/book"' })
  const paths = response.pushes.map((push) => push.path)
  t.same(paths.slice(0, 3), ['/reviews/1', '/reviews/2', '/reviews/3'])
  t.same(paths.slice(3).sort(), ['/books/1', '/books/2'], 'the selected books, one hop further, before any x-push link')
  t.match(response.headers.link, '</authors/1>; rel=preload; as=fetch; nopush', 'the x-push links are still preloaded')
  const more = await h2Bookshop(t, { maxPushes: 7 })
  const filled = await h2get(t, more, '/books', { preload: '"/member/0/reviews/*/book"' })
  t.same(filled.pushes.map((push) => push.path), ['/reviews/1', '/reviews/2', '/books/1', '/authors/1', '/publishers/1', '/authors/2', '/publishers/2'],
    'x-push links fill what the selection left')
})

t.test('push: a resource the connection has is not pushed again, but the next hop of a new selector is', async (t) => {
  const origin = await h2Bookshop(t)
  const client = await connect(origin)
  t.teardown(async () => { await client.close() })
  const first = await client.get('/books/1', { preload: '"/author"' })
  t.same(first.pushes.map((push) => push.path), ['/authors/1'])
  const second = await client.get('/books/2', { preload: '"/author/publisher"' })
  t.same(second.pushes.map((push) => [push.path, JSON.parse(push.body)]), [['/publishers/1', { name: 'Secker' }]])
  const third = await client.get('/books/3', { preload: '"/author/publisher"' })
  t.same(third.pushes, [], 'followed once per connection')
  const gone = await client.get('/books/3', { preload: '"/author/gone"' })
  t.same(gone.pushes, [], 'a next hop that fails pushes nothing')
  const handler = await client.get('/handler-first', { preload: '"/author/born/x", "/author/publisher/x"' })
  t.same(handler.pushes.map((push) => push.path), [], 'the handler preloaded it: no push, its next hop is followed (nothing there)')
  const fresh = await h2get(t, origin, '/handler-first', { preload: '"/author/publisher"' })
  t.same(fresh.pushes.map((push) => push.path), ['/authors/1', '/publishers/1'], 'pushed by the handler, followed as selected')
})

t.test('hostile directives cost at most 3 times the same request without them (CPU in one process, interleaved, medians)', async (t) => {
  const app = Fastify()
  await app.register(pushRelations, { vulcain: true })
  const member = Array.from({ length: 5000 }, (_, i) => ({ '@id': `/books/${i}`, author: `/authors/${i % 50}`, title: `Book ${i}`, tags: ['a', 'b'] }))
  app.get('/books', async () => ({ '@id': '/books', totalItems: member.length, member }))
  const list = (make: (i: number) => string): string => Array.from({ length: 32 }, (_, i) => `"${make(i)}"`).join(', ')
  const encode = (value: string): string => encodeURIComponent(value).replace(/\*/g, '%2A')
  const deep = list((i) => `/member/*/author/x${i}`)
  const wild = list((i) => `/*/*/*/*/*/*/*/*/*/*/*/*/*/*/x${i}`)
  const requests = {
    plain: { url: '/books' },
    header: { url: '/books', headers: { preload: deep, fields: list((i) => `/member/*/author/y${i}`) } },
    wildcards: { url: '/books', headers: { preload: wild, fields: wild } },
    query: { url: `/books?preload=${encode(deep)}&fields=${encode(list((i) => `/member/*/author/y${i}`))}` },
    queryWildcards: { url: `/books?preload=${encode(list((i) => `/*/*/x${i}`))}` }
  }
  const plainBody = (await app.inject(requests.plain)).body
  for (const name of ['query', 'queryWildcards'] as const) {
    const body = (await app.inject(requests[name])).body
    t.ok(body.length < plainBody.length + 64 * 1024 + 4096, `${name}: rewriting links is bounded (${body.length} bytes against ${plainBody.length})`)
  }
  const cpu = async (request: object, times: number): Promise<number> => {
    const start = process.cpuUsage()
    for (let i = 0; i < times; i++) await app.inject(request)
    const used = process.cpuUsage(start)
    return used.user + used.system
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
  const ratios: Record<string, number[]> = { header: [], wildcards: [], query: [], queryWildcards: [] }
  await cpu(requests.plain, 3) // warm-up: compiled serializers, parsed directives
  for (const name of Object.keys(ratios)) await cpu(requests[name as keyof typeof requests], 3)
  for (let round = 0; round < 7; round++) {
    for (const name of Object.keys(ratios)) {
      // Interleaved: the same machine load falls on both sides of each ratio.
      const plain = await cpu(requests.plain, 3)
      const hostile = await cpu(requests[name as keyof typeof requests], 3)
      ratios[name]?.push(hostile / plain)
    }
  }
  for (const [name, values] of Object.entries(ratios)) {
    t.ok(median(values) <= 3, `${name}: median CPU ratio ${median(values).toFixed(2)} <= 3`)
  }
})

t.test('relations: "schema" follows only what the schema says is a relation; "any" (default) any link-looking string', async (t) => {
  const Profile = Type.Object({
    bio: Type.String(),
    homepage: Type.String({ format: 'uri-reference' }),
    site: Type.String({ format: 'uri' }),
    links: Type.Array(Type.String({ format: 'iri-reference' })),
    author: Push(Type.String()),
    friend: Type.Ref('Friend')
  })
  const profile = { bio: '/admin/delete-everything', homepage: '/pages/1', site: 'http://localhost:80/sites/1', links: ['/l/1'], author: '/authors/1', friend: { url: '/friends/1', note: '/notes/1' } }
  const build = async (relations?: 'any' | 'schema'): Promise<FastifyInstance> => {
    const { app } = await buildApp({ vulcain: relations === undefined ? true : { relations } })
    app.get('/profile', { schema: { response: { 200: Profile } } }, async () => profile)
    app.addSchema(Type.Object({ url: Type.String({ format: 'uri' }), note: Type.String() }, { $id: 'Friend' }))
    app.get('/free', async () => profile)
    return app
  }
  const preload = '"/bio", "/homepage", "/site", "/links/*", "/author", "/friend/url", "/friend/note"'
  const schema = await build('schema')
  t.equal((await get(schema, '/profile', { preload })).link, ['/pages/1', '/sites/1', '/l/1', '/authors/1', '/friends/1'].map((path) => entry(path)).join(', '),
    'user text that looks like a path is not followed; formats and x-push are, behind a shared $ref too')
  t.equal((await get(schema, '/free', { preload })).link, undefined, 'a route without schema has no relations')
  const any = await build()
  t.equal((await get(any, '/profile', { preload })).link, ['/admin/delete-everything', '/pages/1', '/sites/1', '/l/1', '/authors/1', '/friends/1', '/notes/1'].map((path) => entry(path)).join(', '))
  t.throws(() => resolveOptions({ vulcain: { relations: 'all' as never } }), { message: /option "vulcain.relations" must be "any" or "schema", received "all"/ })
})

t.test('Fields and Preload read class getters as the serializer does', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  class Book {
    constructor (readonly id: number) {}
    get title (): string { return 'Book ' + String(this.id) }
    get author (): string { return '/authors/1' }
    get nothing (): undefined { return undefined }
    toString (): string { return 'a book' }
    describe (): string { return 'a book' }
  }
  app.get('/books/1', { schema: { response: { 200: Type.Object({ title: Type.String(), author: Push(Type.String()) }) } } }, async () => new Book(1))
  app.get('/plain/1', async () => new Book(1))
  const response = await get(app, '/books/1', { fields: '"/title", "/toString", "/describe", "/nothing", "/missing", "/__proto__", "/constructor"', preload: '"/author"' })
  t.same(response.body, { title: 'Book 1' })
  const preload = await get(app, '/books/1', { preload: '"/author"' })
  t.equal(preload.link, entry('/authors/1'))
  t.same(preload.body, { title: 'Book 1', author: '/authors/1' })
  t.equal((await get(app, '/books/1', { preload: '"/toString"' })).link, entry('/authors/1'), 'only the x-push link')
  t.same((await get(app, '/plain/1', { fields: '"/title"' })).body, { title: 'Book 1' }, 'without schema too')
  const author = await get(app, '/books/1', { fields: '"/author"' })
  t.same(author.body, { author: '/authors/1' })
  t.equal(author.link, entry('/authors/1'))
})
