// Cache tags on reads (the rule, the cap and its fallback, the formats) and purges after writes
// (defaults, route purge functions, purge() from anywhere), observed with `inject` and a fake
// cache node that records the purge requests it gets. Real Varnish: cache-varnish.test.ts.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

import pushRelations, { Push, type PushRelationsOptions } from '../../lib/index.js'
import type { PurgeFailure } from '../../lib/cache-tags/options.js'
import { MAX_DEPTH } from '../../lib/collect/link-collector.js'

interface Received { method: string, headers: http.IncomingHttpHeaders, body: string }

interface FakeNode {
  url: string
  received: Received[]
  /** The status of the next answers (200 by default). */
  status: number
  /** When true, requests are never answered. */
  silent: boolean
}

/**
 * A cache node that records purge requests. Raw TCP: Node's HTTP parser refuses `BAN`, which
 * Varnish takes. Keep-alive, several requests per connection, bodies by Content-Length.
 */
async function fakeNode (t: Test): Promise<FakeNode> {
  const node: FakeNode = { url: '', received: [], status: 200, silent: false }
  const server = net.createServer((socket) => {
    let buffer = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      for (let end = buffer.indexOf('\r\n\r\n'); end !== -1; end = buffer.indexOf('\r\n\r\n')) {
        const [line = '', ...fields] = buffer.slice(0, end).split('\r\n')
        const headers: http.IncomingHttpHeaders = {}
        for (const field of fields) {
          const colon = field.indexOf(':')
          headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim()
        }
        const length = Number(headers['content-length'] ?? 0)
        if (buffer.length < end + 4 + length) return
        node.received.push({ method: line.split(' ')[0] as string, headers, body: buffer.slice(end + 4, end + 4 + length) })
        buffer = buffer.slice(end + 4 + length)
        if (!node.silent) socket.write(`HTTP/1.1 ${node.status} X\r\ncontent-length: 0\r\n\r\n`)
      }
    })
    socket.on('error', () => {})
  })
  const sockets = new Set<net.Socket>()
  server.on('connection', (socket) => { sockets.add(socket) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { for (const socket of sockets) socket.destroy(); server.close(() => { resolve() }) }))
  node.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  return node
}

const Publisher = Type.Object({ '@id': Type.String(), name: Type.String() })
const Book = Type.Object({
  '@id': Type.String(),
  title: Type.String(),
  author: Push(Type.String()),
  publisher: Publisher,
  notes: Type.Optional(Type.Array(Type.Object({ '@id': Type.String(), text: Type.String() })))
})
const book = (id: number, extra: object = {}): object => ({ '@id': `/books/${id}`, title: 'T', author: `/authors/${id}`, publisher: { '@id': `/publishers/${id}`, name: 'P' }, ...extra })

async function app (t: Test, options: PushRelationsOptions, routes?: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  const fastify = Fastify()
  t.teardown(() => fastify.close())
  await fastify.register(pushRelations, options)
  fastify.get('/books/:id', { schema: { response: { 200: Book } } }, async (request) => book(Number((request.params as { id: string }).id)))
  fastify.get('/books', { schema: { response: { 200: Type.Object({ member: Type.Array(Book) }) } } }, async (request) => {
    const count = Number((request.query as { count?: string }).count ?? 2)
    return { member: Array.from({ length: count }, (_, i) => book(i + 1)) }
  })
  fastify.get('/plain', async () => 'text')
  fastify.get('/missing', async (_request, reply) => reply.code(404).send({ error: 'x' }))
  fastify.put('/books/:id', { schema: { response: { 200: Book } } }, async (request) => book(Number((request.params as { id: string }).id)))
  fastify.post('/books', { schema: { response: { 201: Book } } }, async (_request, reply) => reply.code(201).send(book(3)))
  fastify.delete('/books/:id', async (_request, reply) => reply.code(204).send())
  routes?.(fastify)
  await fastify.ready()
  return fastify
}

function tagsOf (header: unknown): string[] {
  return String(header).split(',')
}

t.test('reads: the request path, every IRI at any depth, every relation', async (t) => {
  const fastify = await app(t, { cacheTags: true })
  const response = await fastify.inject('/books/1')
  t.same(tagsOf(response.headers['cache-tags']), ['/books/1', '/authors/1', '/publishers/1'])
  const collection = await fastify.inject('/books?count=2')
  t.same(tagsOf(collection.headers['cache-tags']), ['/books', '/books/1', '/authors/1', '/publishers/1', '/books/2', '/authors/2', '/publishers/2'], 'the query is not part of a tag')
  t.same(fastify.pushRelations.routes().map((route) => route.responses.map((r) => r.pointers)), [[['/author']], [['/author']], [['/member/*/author']], [['/member/*/author']], [['/author']], [['/author']]],
    'objects kept in the plan for their IRI are not listed as preloads')
  t.equal((await fastify.inject('/plain')).headers['cache-tags'], '/plain', 'a route without schema: the request path')
  t.equal((await fastify.inject({ method: 'HEAD', url: '/books/1' })).headers['cache-tags'], '/books/1,/authors/1,/publishers/1')
  const missing = await fastify.inject('/missing')
  t.equal(missing.headers['cache-tags'], undefined, 'no tags on a 404')
  t.same(fastify.pushRelations.stats().cacheTags, {
    tagged: 4,
    coarse: 0,
    uncacheable: 0,
    purges: { tags: 0, requests: 0, succeeded: 0, retries: 0, failures: 0, failedTags: 0, pending: 0 }
  })
  t.same(await fastify.pushRelations.purge(['/books/1']), { tags: ['/books/1', '/books'], failures: [] }, 'no node: nothing to send')
})

t.test('without cacheTags: no tag header, purge() has nothing to do, no stats', async (t) => {
  const fastify = await app(t, {})
  t.equal((await fastify.inject('/books/1')).headers['cache-tags'], undefined)
  t.same(await fastify.pushRelations.purge(['/books/1']), { tags: [], failures: [] })
  t.same(fastify.pushRelations.stats(), { cacheTags: null })
})

t.test('tags are canonical: no query, no comma, upper-case escapes; other origins get none', async (t) => {
  const fastify = await app(t, { cacheTags: true, origins: ['https://cdn.example.com'] }, (fastify) => {
    fastify.get('/odd', { schema: { response: { 200: Type.Object({ a: Push(Type.String()), b: Push(Type.String()), c: Push(Type.String()), d: Push(Type.String()) }) } } },
      async () => ({ a: '/x,y?z=1', b: '/caf%c3%a9', c: 'https://other.example.com/x', d: 'https://cdn.example.com/d' }))
  })
  t.equal((await fastify.inject('/odd?q=1')).headers['cache-tags'], '/odd,/x%2Cy,/caf%C3%A9,/d')
})

t.test('absolute references: the origin of the request (trustProxy aware) is this API; an unusable Host is none', async (t) => {
  const fastify = Fastify({ trustProxy: true })
  t.teardown(() => fastify.close())
  await fastify.register(pushRelations, { cacheTags: true })
  fastify.route({
    method: ['GET', 'PUT'],
    url: '/abs',
    schema: { response: { 200: Type.Object({ a: Push(Type.String()) }) } },
    handler: async () => ({ a: 'https://api.example.com/x/1' })
  })
  const secure = await fastify.inject({ url: '/abs', headers: { host: 'api.example.com', 'x-forwarded-proto': 'https' } })
  t.equal(secure.headers['cache-tags'], '/abs,/x/1')
  t.equal((await fastify.inject({ url: '/abs', headers: { host: 'api.example.com' } })).headers['cache-tags'], '/abs', 'http: another origin')
  t.equal((await fastify.inject({ url: '/abs', headers: { host: 'bad host' } })).headers['cache-tags'], '/abs', 'no usable origin')
  t.equal((await fastify.inject({ method: 'PUT', url: '/abs' })).statusCode, 200, 'a route of several methods takes writes too')
})

t.test('the walk goes on past the link caps for the tags, without adding links', async (t) => {
  const fastify = await app(t, { cacheTags: true, maxLinks: 1 })
  const response = await fastify.inject('/books?count=3')
  t.equal(response.headers.link, '</authors/1>; rel=preload; as=fetch')
  t.same(tagsOf(response.headers['cache-tags']), ['/books', '/books/1', '/authors/1', '/publishers/1', '/books/2', '/authors/2', '/publishers/2', '/books/3', '/authors/3', '/publishers/3'])
  const bytes = await app(t, { cacheTags: true, maxLinkBytes: 40 }, (fastify) => {
    fastify.get('/relations', { schema: { response: { 200: Type.Object({ list: Push(Type.Array(Type.Union([Type.String(), Type.Null()]))) }) } } },
      async () => ({ list: ['/a/very/long/relation/path/number/one', '/b', null, '/c'] }))
  })
  const capped = await bytes.inject('/relations')
  t.equal(capped.headers.link, undefined, 'the first link does not fit, and no shorter one is added after it')
  t.equal(capped.headers['cache-tags'], '/relations,/a/very/long/relation/path/number/one,/b,/c')
})

t.test('the cap: collection tags, then private; never a partial list', async (t) => {
  const fastify = await app(t, { cacheTags: { maxBytes: 100 } })
  const coarse = await fastify.inject('/books?count=20')
  t.equal(coarse.headers['cache-tags'], '/books,/authors,/publishers', 'the collection of each resource')
  t.equal(coarse.headers['cache-control'], undefined)
  const strict = await app(t, { cacheTags: { maxBytes: 100, fallback: 'private' } }, (fastify) => {
    fastify.get('/cdn', { schema: { response: { 200: Type.Object({ member: Type.Array(Book) }) } } }, async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=60').header('surrogate-control', 'max-age=600').header('cdn-cache-control', 'max-age=600')
      return { member: Array.from({ length: 20 }, (_, i) => book(i)) }
    })
  })
  const uncacheable = await strict.inject('/cdn')
  t.equal(uncacheable.headers['cache-control'], 'private')
  t.equal(uncacheable.headers['surrogate-control'], undefined)
  t.equal(uncacheable.headers['cdn-cache-control'], undefined)
  t.equal(uncacheable.headers['cache-tags'], undefined)

  const tiny = await app(t, { cacheTags: { maxBytes: 64 } }, (fastify) => {
    fastify.get('/wide', { schema: { response: { 200: Type.Object({ list: Push(Type.Array(Type.String())) }) } } },
      async () => ({ list: Array.from({ length: 20 }, (_, i) => `/collection-number-${i}/1`) }))
  })
  t.equal((await tiny.inject('/wide')).headers['cache-control'], 'private', 'even the collections do not fit')
  t.equal((await tiny.inject(`/plain?${'x'.repeat(10)}`)).headers['cache-tags'], '/plain')
  t.match(fastify.pushRelations.stats().cacheTags, { tagged: 1, coarse: 1 })
  t.match(strict.pushRelations.stats().cacheTags, { tagged: 0, uncacheable: 1 })
})

t.test('a request path that cannot be a tag, data too deep, a throwing getter: private', async (t) => {
  const Node = Type.Recursive((This) => Type.Object({ '@id': Type.String(), child: Type.Optional(This) }))
  const fastify = await app(t, { cacheTags: true }, (fastify) => {
    fastify.get('/deep', { schema: { response: { 200: Node } } }, async () => {
      let node: Record<string, unknown> = { '@id': '/leaf' }
      for (let i = 0; i <= MAX_DEPTH + 1; i++) node = { '@id': `/n/${i}`, child: node }
      return node
    })
    fastify.get('/getter', { schema: { response: { 200: Publisher } } }, async () => {
      let reads = 0
      // Throws for the walk, then answers the serializer.
      return Object.defineProperty({ name: 'n' }, '@id', { enumerable: true, get: () => { if (reads++ === 0) throw new Error('boom'); return '/p/1' } })
    })
    fastify.get('/*', async () => 'any')
  })
  t.equal((await fastify.inject('/deep')).headers['cache-control'], 'private')
  t.equal((await fastify.inject('/getter')).headers['cache-control'], 'private')
  t.equal((await fastify.inject(`/${'p'.repeat(2000)}`)).headers['cache-control'], 'private', 'a path longer than a tag can be')
})

t.test('tags the handler set itself are kept, under the cap', async (t) => {
  const fastify = await app(t, { cacheTags: { header: 'xkey' } }, (fastify) => {
    fastify.get('/own', async (_request, reply) => reply.header('xkey', '/extra/1, /extra/2').send('x'))
  })
  t.equal((await fastify.inject('/own')).headers.xkey, '/own /extra/1 /extra/2')
  t.equal((await fastify.inject('/books/1')).headers.xkey, '/books/1 /authors/1 /publishers/1', 'xkey: space-separated')
  for (const [header, expected] of [['Surrogate-Key', '/books/1 /authors/1 /publishers/1'], ['Cache-Tag', '/books/1,/authors/1,/publishers/1']] as const) {
    const other = await app(t, { cacheTags: { header } })
    t.equal((await other.inject('/books/1')).headers[header.toLowerCase()], expected, header)
  }
})

t.test('writes purge the request path, the body IRI and their collections from every node', async (t) => {
  const [one, two] = [await fakeNode(t), await fakeNode(t)]
  const fastify = await app(t, { cacheTags: { purge: { urls: [one.url, two.url], mode: 'before-response' } } })
  t.equal((await fastify.inject({ method: 'PUT', url: '/books/1' })).statusCode, 200)
  for (const node of [one, two]) {
    t.equal(node.received.length, 1)
    t.equal(node.received[0]?.method, 'BAN')
    t.equal(node.received[0]?.headers['cache-tags-ban-regex'], '(^|,)(/books/1|/books)(,|$)')
  }
  t.equal((await fastify.inject({ method: 'POST', url: '/books' })).statusCode, 201)
  t.equal(one.received[1]?.headers['cache-tags-ban-regex'], '(^|,)(/books|/|/books/3)(,|$)', 'the created resource and its collection')
  await fastify.inject({ method: 'DELETE', url: '/books/2' })
  t.equal(one.received[2]?.headers['cache-tags-ban-regex'], '(^|,)(/books/2|/books)(,|$)', 'a body that is no object: the path')
  await fastify.inject({ method: 'PUT', url: '/books/x' })
  t.equal(one.received.length, 4, 'a failed write (400?) or a 2xx write: only 2xx purge')
  await fastify.inject('/books/1')
  t.equal(one.received.length, 4, 'reads purge nothing')
})

t.test('only 2xx writes purge; after-response by default, coalesced per node', async (t) => {
  const node = await fakeNode(t)
  const fastify = await app(t, { cacheTags: { purge: { urls: [node.url], window: 50 } } }, (fastify) => {
    fastify.put('/fails', async (_request, reply) => reply.code(409).send({ error: 'conflict' }))
  })
  await fastify.inject({ method: 'PUT', url: '/fails' })
  await Promise.all([fastify.inject({ method: 'PUT', url: '/books/1' }), fastify.inject({ method: 'PUT', url: '/books/2' })])
  t.equal(node.received.length, 0, 'the responses did not wait')
  await fastify.pushRelations.purge(['/authors/1'])
  t.equal(node.received.length, 1, 'one request for the three purges of the window')
  t.equal(node.received[0]?.headers['cache-tags-ban-regex'], '(^|,)(/books/1|/books|/books/2|/authors/1|/authors)(,|$)')
})

t.test('route purge functions add tags; purge: false purges nothing; a throwing one keeps the defaults', async (t) => {
  const node = await fakeNode(t)
  const fastify = await app(t, { cacheTags: { purge: { urls: [node.url], mode: 'before-response', kind: 'xkey' } } }, (fastify) => {
    fastify.put('/reviews/:id', {
      config: { pushRelations: { purge: async (_request, _reply, payload) => [(payload as { book: string }).book, 42 as unknown as string] } }
    }, async () => ({ '@id': '/reviews/1', book: '/books/7' }))
    fastify.put('/quiet', { config: { pushRelations: { purge: false } } }, async () => ({ ok: true }))
    fastify.put('/broken', { config: { pushRelations: { purge: () => { throw new Error('bug') } } } }, async () => 'done')
    fastify.put('/odd', { config: { pushRelations: { purge: () => 'not an array' as unknown as string[] } } }, async () => 'done')
  })
  await fastify.inject({ method: 'PUT', url: '/reviews/1' })
  t.equal(node.received[0]?.method, 'PURGE')
  t.equal(node.received[0]?.headers.xkey, '/reviews/1 /reviews /books/7 /books')
  await fastify.inject({ method: 'PUT', url: '/quiet' })
  t.equal(node.received.length, 1)
  await fastify.inject({ method: 'PUT', url: '/broken' })
  t.equal(node.received[1]?.headers.xkey, '/broken /')
  await fastify.inject({ method: 'PUT', url: '/odd' })
  t.equal(node.received[2]?.headers.xkey, '/odd /')
})

t.test('purge() from anywhere: skips what names no resource, caps the count', async (t) => {
  const node = await fakeNode(t)
  const fastify = await app(t, { cacheTags: { purge: { urls: [node.url], kind: 'xkey', maxHeaderBytes: 64 } } })
  const result = await fastify.pushRelations.purge(['/a/1', 'https://elsewhere.example.com/x', 7 as unknown as string, '/a/2', '/b/1'])
  t.same(result, { tags: ['/a/1', '/a', '/a/2', '/b/1', '/b'], failures: [] })
  t.ok(node.received.every((request) => (request.headers.xkey as string).length <= 64), 'chunked under maxHeaderBytes')
  t.same(node.received.map((request) => request.headers.xkey), ['/a/1 /a /a/2 /b/1 /b'])
  const big = await fakeNode(t)
  const roomy = await app(t, { cacheTags: { purge: { urls: [big.url], kind: 'xkey', maxQueue: 20_000 } } })
  const many = await roomy.pushRelations.purge(Array.from({ length: 10_001 }, (_, i) => `/m/${i}`))
  t.equal(many.tags.length, 10_001, '10,000 references and their one collection')
  t.ok(big.received.length > 1 && big.received.every((request) => (request.headers.xkey as string).length <= 7500), 'chunked under 7500 bytes')
})

t.test('failures: retried with backoff, then reported, logged and counted; onPurgeError may throw', async (t) => {
  const node = await fakeNode(t)
  node.status = 503
  const failures: PurgeFailure[] = []
  const logs: Array<Record<string, unknown>> = []
  const fastify = Fastify({ logger: { level: 'error', stream: { write: (line: string) => { logs.push(JSON.parse(line)) } } } })
  t.teardown(() => fastify.close())
  await fastify.register(pushRelations, { cacheTags: { purge: { urls: [node.url], retries: 2, retryDelay: 1, onPurgeError: (failure) => { failures.push(failure); throw new Error('callback bug') } } } })
  const result = await fastify.pushRelations.purge(['/authors/1'])
  t.equal(node.received.length, 3, 'the first attempt and two retries')
  t.equal(failures.length, 1)
  t.match(failures[0], { url: node.url, tags: ['/authors/1', '/authors'], attempts: 3, error: { message: `BAN ${node.url} answered 503` } })
  t.same(result.failures, failures)
  t.match(fastify.pushRelations.stats().cacheTags?.purges, { requests: 3, retries: 2, failures: 1, failedTags: 2, succeeded: 0 })
  t.match(logs, [{ level: 50, tags: ['/authors/1', '/authors'], url: node.url, attempts: 3 }, { level: 50, msg: 'fastify-push-relations: onPurgeError threw' }])

  node.status = 200
  node.silent = true
  const slow = Fastify()
  t.teardown(() => slow.close())
  await slow.register(pushRelations, { cacheTags: { purge: { urls: [node.url], retries: 0, timeout: 20 } } })
  const timedOut = await slow.pushRelations.purge(['/x'])
  t.match(timedOut.failures, [{ attempts: 1, error: { message: /timed out after 20 ms/ } }])
  const secure = Fastify()
  t.teardown(() => secure.close())
  await secure.register(pushRelations, { cacheTags: { purge: { urls: ['https://127.0.0.1:1/'], retries: 0 } } })
  t.match((await secure.pushRelations.purge(['/x'])).failures, [{ url: 'https://127.0.0.1:1/', error: { code: 'ECONNREFUSED' } }], 'https nodes')
  const refused = Fastify()
  t.teardown(() => refused.close())
  await refused.register(pushRelations, { cacheTags: { purge: { urls: ['http://127.0.0.1:1/'], retries: 0 } } })
  t.match((await refused.pushRelations.purge(['/x'])).failures, [{ error: { code: 'ECONNREFUSED' } }])
})

t.test('the queue is bounded; what does not fit is reported at once', async (t) => {
  const node = await fakeNode(t)
  const failures: PurgeFailure[] = []
  const fastify = await app(t, { cacheTags: { purge: { urls: [node.url], maxQueue: 3, window: 20, onPurgeError: (failure) => { failures.push(failure) } } } })
  const first = fastify.pushRelations.purge(['/a/1', '/a/2'])
  const second = fastify.pushRelations.purge(['/a/2', '/b/1'])
  t.match(failures, [{ tags: ['/b/1', '/b'], attempts: 0, error: { message: 'purge queue full (maxQueue 3)' } }])
  t.equal(fastify.pushRelations.stats().cacheTags?.purges.pending, 3)
  await Promise.all([first, second])
  t.match((await second).failures, failures, 'the caller is told too')
  t.same((await fastify.pushRelations.purge(['/b/1'])).failures, [])
  const filling = fastify.pushRelations.purge(['/c/1', '/c/2'])
  const full = await fastify.pushRelations.purge(['/d/1'])
  t.match(full.failures, [{ tags: ['/d/1', '/d'] }], 'all refused: resolved at once')
  t.same((await filling).failures, [])
})

t.test('tags longer than a request can carry are reported', async (t) => {
  const node = await fakeNode(t)
  const fastify = await app(t, { cacheTags: { purge: { urls: [node.url], maxHeaderBytes: 64 } } })
  const long = `/${'x'.repeat(80)}`
  const result = await fastify.pushRelations.purge([long])
  t.match(result.failures, [{ tags: [long], attempts: 0, error: { message: 'tag longer than maxHeaderBytes (64)' } }])
  t.equal(node.received.length, 1, 'its collection went')
})

t.test('the generic HTTP purger: method, headers, tag header, body, maxTags', async (t) => {
  const node = await fakeNode(t)
  const fastify = await app(t, {
    cacheTags: {
      header: 'Cache-Tag',
      purge: { kind: 'http', urls: [node.url], http: { method: 'POST', headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: (tags) => JSON.stringify({ tags }), maxTags: 2 } }
    }
  })
  await fastify.pushRelations.purge(['/a/1', '/b/1'])
  t.same(node.received.map((request) => [request.method, request.headers.authorization, request.body]), [
    ['POST', 'Bearer x', '{"tags":["/a/1","/a"]}'],
    ['POST', 'Bearer x', '{"tags":["/b/1","/b"]}']
  ])
  const souin = await fakeNode(t)
  const other = await app(t, { cacheTags: { header: 'Surrogate-Key', purge: { kind: 'http', urls: [souin.url], http: { separator: ', ' } } } })
  await other.pushRelations.purge(['/a/1'])
  t.same(souin.received.map((request) => [request.method, request.headers['surrogate-key']]), [['PURGE', '/a/1, /a']])
})

t.test('BAN regexes escape metacharacters as classes', async (t) => {
  const node = await fakeNode(t)
  const fastify = await app(t, { cacheTags: { purge: { urls: [node.url], banHeader: 'X-Ban' } } })
  await fastify.pushRelations.purge(["/files/a.b$(c)*+!'"])
  const regex = node.received[0]?.headers['x-ban'] as string
  t.equal(regex, "(^|,)(/files/a[.]b[$][(]c[)][*][+]!'|/files)(,|$)")
  const tags = "/files,/files/a.b$(c)*+!'"
  t.match(tags, new RegExp(regex))
  t.notMatch('/files/aXb$(c)*+!\'', new RegExp(regex.replace('|/files)', ')')), 'the dot is literal')
})

t.test('close() sends what waits and waits for it, bounded', async (t) => {
  const node = await fakeNode(t)
  const fastify = await app(t, { cacheTags: { purge: { urls: [node.url], window: 60_000 } } })
  const pending = fastify.pushRelations.purge(['/a/1'])
  await fastify.inject({ method: 'PUT', url: '/books/1' })
  await fastify.close()
  t.equal(node.received.length, 1, 'sent at close, in one batch')
  t.same((await pending).failures, [])
  t.same((await fastify.pushRelations.purge(['/late/1'])).failures, [], 'a purge after close() is sent at once')
  t.equal(node.received.length, 2)

  node.status = 503
  const failures: PurgeFailure[] = []
  const stuck = await app(t, { cacheTags: { purge: { urls: [node.url], retryDelay: 60_000, closeTimeout: 20, onPurgeError: (failure) => { failures.push(failure) } } } })
  const retried = stuck.pushRelations.purge(['/b/1'])
  while (stuck.pushRelations.stats().cacheTags?.purges.retries === 0) await sleep(5)
  await stuck.close()
  t.match((await retried).failures, [{ error: { message: 'fastify.close() stopped waiting for this purge' } }])
  t.equal(failures.length, 1)

  const late = await app(t, { cacheTags: { purge: { urls: [node.url], closeTimeout: 20, timeout: 100 } } })
  node.silent = true
  const slow = late.pushRelations.purge(['/c/1'])
  await late.close()
  t.match((await slow).failures, [{ attempts: 1, error: { message: /timed out/ } }], 'a request on the wire ends by its own timeout')
})

t.test('after-response writes whose route purge is still running at close() are waited for', async (t) => {
  const node = await fakeNode(t)
  let release = (): void => {}
  const fastify = await app(t, { cacheTags: { purge: { urls: [node.url], closeTimeout: 1000 } } }, (fastify) => {
    fastify.put('/slow', { config: { pushRelations: { purge: async () => { await new Promise<void>((resolve) => { release = resolve }); return ['/extra'] } } } }, async () => 'ok')
  })
  t.equal((await fastify.inject({ method: 'PUT', url: '/slow' })).statusCode, 200)
  const closed = fastify.close()
  release()
  await closed
  t.same(node.received.map((request) => request.headers['cache-tags-ban-regex']), ['(^|,)(/slow|/|/extra)(,|$)'])
})
