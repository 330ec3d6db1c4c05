import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http2 from 'node:http2'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pushRelations, { Push, type PushRelationsOptions } from '../../lib/index.js'
import rateLimit from '@fastify/rate-limit'
import { promisedPaths } from '../../lib/deliver/push-sessions.js'
import { connect, type H2Client } from '../helpers/h2client.js'
import { nghttp } from '../helpers/nghttp.js'
import { skipWithoutBinaries } from '../helpers/binaries.js'

/** Native push, tested with a real HTTP/2 client: `inject` has no HTTP/2 stream. */

const Links = Type.Object({ '@id': Type.String(), links: Push(Type.Array(Type.String())) })
const Resource = Type.Object({ '@id': Type.String(), name: Type.String() })

const graph: Record<string, string[]> = {
  '/books/1': ['/authors/1', '/reviews/1', '/publishers/1'],
  '/books/2': ['/authors/1', '/authors/2'],
  '/reviews/1': ['/books/1', '/users/1'],
  '/books/private': ['/private/1', '/authors/1'],
  '/books/broken': ['/missing', '/boom', '/authors/1'],
  '/books/slow': ['/slow', '/authors/1'],
  '/books/many': Array.from({ length: 20 }, (_, i) => `/authors/${i + 1}`),
  '/books/self': ['/books/self', '/authors/1'],
  '/books/local': ['/local-only', '/whoami'],
  '/books/quiet': ['/quiet/1']
}

interface TestServer {
  origin: string
  sessions: http2.ServerHttp2Session[]
  seen: Array<{ url: string, authorization: string | undefined, cookie: string | undefined, accept: string | undefined }>
}

async function start (t: Test, options: PushRelationsOptions = {}): Promise<TestServer> {
  const app = Fastify({ http2: true })
  const seen: TestServer['seen'] = []
  const sessions: http2.ServerHttp2Session[] = []
  app.server.on('session', (session: http2.ServerHttp2Session) => { sessions.push(session) })
  await app.register(pushRelations, { push: true, ...options })
  app.addHook('onRequest', async (request) => {
    seen.push({ url: request.url, authorization: request.headers.authorization, cookie: request.headers.cookie, accept: request.headers.accept })
  })
  for (const [url, links] of Object.entries(graph)) {
    app.get(url, { schema: { response: { 200: Links } } }, async () => ({ '@id': url, links }))
  }
  app.get('/:kind/:id', { schema: { response: { 200: Resource } } }, async (request) => {
    const { kind, id } = request.params as { kind: string, id: string }
    return { '@id': `/${kind}/${id}`, name: `${kind} ${id} for ${request.headers.cookie ?? 'anyone'}` }
  })
  app.get('/private/:id', async (request, reply) => {
    if (request.headers.authorization !== 'Bearer secret') return await reply.code(401).send({ error: 'Unauthorized' })
    return { '@id': request.url, secret: 'for the client only' }
  })
  app.get('/missing', async (_request, reply) => await reply.code(404).send({ error: 'Not Found' }))
  // Address-based access control: a push must not serve what the client cannot get by asking.
  app.get('/local-only', async (request, reply) => request.ip === '127.0.0.1' ? { secret: 42 } : await reply.code(403).send({ error: 'Forbidden' }))
  app.get('/whoami', async (request) => ({ ip: request.ip, host: request.host }))
  app.get('/quiet/1', { schema: { response: { 200: Type.Object({ next: Push(Type.String(), { nopush: true }), also: Push(Type.String()) }) } } },
    async () => ({ next: '/authors/9', also: '/authors/8' }))
  app.get('/boom', async () => { throw new Error('boom') })
  // Answers once its client is gone (the push was cancelled), or after a while.
  app.get('/slow', async (request) => {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000)
      request.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(null) })
    })
    return { late: true }
  })
  app.get('/preloading', async (_request, reply) => {
    reply.preload('/authors/7', '/authors/8')
    await new Promise((resolve) => setTimeout(resolve, 20))
    return { ok: true }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  return { origin: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, seen, sessions }
}

async function client (t: Test, origin: string, settings: http2.Settings = {}): Promise<H2Client> {
  const h2 = await connect(origin, settings)
  t.teardown(async () => { await h2.close() })
  return h2
}

const entry = (path: string, nopush = false): string => `<${path}>; rel=preload; as=fetch${nopush ? '; nopush' : ''}`

t.test('promises every preload link and fills the pushed streams through Fastify', async (t) => {
  const { origin, seen } = await start(t)
  const h2 = await client(t, origin)
  const response = await h2.get('/books/1', { accept: 'application/json', cookie: 'session=abc' })
  t.equal(response.status, 200)
  t.equal(response.headers.link, graph['/books/1']?.map((path) => entry(path, true)).join(', '), 'pushed links say nopush')
  t.same(response.pushes.map((push) => push.path), graph['/books/1'])
  for (const push of response.pushes) {
    t.equal(push.status, 200, push.path)
    t.ok(push.complete, `${push.path} complete`)
    t.equal(push.request[':method'], 'GET')
    t.equal(push.request[':authority'], origin.slice('http://'.length))
    t.equal(push.request.cookie, 'session=abc', 'the promise carries the client\'s headers')
    const direct = await h2.get(push.path, { accept: 'application/json', cookie: 'session=abc' })
    t.equal(push.body, direct.body, `${push.path}: the body the client would get by asking`)
    t.equal(push.headers['content-type'], direct.headers['content-type'])
  }
  const pushed = seen.filter((request) => request.url === '/authors/1')[0]
  t.same(pushed, { url: '/authors/1', authorization: undefined, cookie: 'session=abc', accept: 'application/json' }, 'hooks ran for the pushed request, with the forwarded headers')
})

t.test('nghttp sees PUSH_PROMISE frames and complete pushed responses', async (t) => {
  if (skipWithoutBinaries(t, ['nghttp'])) return
  const { origin } = await start(t)
  const result = await nghttp([`${origin}/books/1`])
  t.same(result.promised, graph['/books/1'])
  for (const push of result.pushes) {
    t.equal(push.status, 200, push.path)
    t.ok(push.endStream, `${push.path} END_STREAM`)
    t.ok(push.bodyBytes > 0)
  }
  t.same(result.rstStreams, [])
})

t.test('a client that disabled push gets the Link header only, without nopush', async (t) => {
  const { origin, seen } = await start(t)
  const h2 = await client(t, origin, { enablePush: false })
  const response = await h2.get('/books/1')
  t.same(response.pushes, [])
  t.equal(response.headers.link, graph['/books/1']?.map((path) => entry(path)).join(', '))
  t.same(seen.map((request) => request.url), ['/books/1'], 'nothing dispatched')
})

t.test('push is off by default', async (t) => {
  const { origin } = await start(t, { push: false })
  const response = await (await client(t, origin)).get('/books/1')
  t.same(response.pushes, [])
  t.equal(response.headers.link, graph['/books/1']?.map((path) => entry(path)).join(', '))
})

t.test('links marked nopush (option or annotation) are not pushed', async (t) => {
  const { origin } = await start(t, { nopush: true })
  const response = await (await client(t, origin)).get('/books/1')
  t.same(response.pushes, [])
  t.equal(response.headers.link, graph['/books/1']?.map((path) => entry(path, true)).join(', '))
})

t.test('credentials: a resource that needs them is pushed only when the client sent them', async (t) => {
  const { origin } = await start(t)
  const h2 = await client(t, origin)
  const anonymous = await h2.get('/books/private')
  const privatePush = anonymous.pushes.find((push) => push.path === '/private/1')
  t.equal(privatePush?.status, undefined, 'no response headers were pushed')
  t.equal(privatePush?.body, '')
  t.equal(privatePush?.rstCode, http2.constants.NGHTTP2_CANCEL, 'the promise is taken back with RST_STREAM')
  t.equal(anonymous.pushes.find((push) => push.path === '/authors/1')?.status, 200, 'other pushes go on')

  const h2b = await client(t, origin)
  const authorized = await h2b.get('/books/private', { authorization: 'Bearer secret' })
  const granted = authorized.pushes.find((push) => push.path === '/private/1')
  t.equal(granted?.status, 200)
  t.equal(granted?.request.authorization, 'Bearer secret')
  const direct = await h2b.get('/private/1', { authorization: 'Bearer secret' })
  t.equal(granted?.body, direct.body, 'exactly the body the client gets by asking')
})

t.test('a pushed request comes from the client\'s own address and host', async (t) => {
  const { origin } = await start(t)
  const local = await (await client(t, origin)).get('/books/local')
  t.same(local.pushes.map((push) => [push.path, push.status]), [['/local-only', 200], ['/whoami', 200]])
  t.same(JSON.parse(local.pushes[1]?.body as string), { ip: '127.0.0.1', host: origin.slice('http://'.length) })

  const app = Fastify({ http2: true })
  await app.register(pushRelations, { push: true })
  app.get('/books/local', { schema: { response: { 200: Links } } }, async () => ({ '@id': '/books/local', links: ['/local-only'] }))
  app.get('/local-only', async (request, reply) => request.ip === '127.0.0.1' ? { secret: 42 } : await reply.code(403).send({ error: 'Forbidden' }))
  await app.listen({ host: '::1', port: 0 })
  t.teardown(async () => { await app.close() })
  const remote = await (await client(t, `http://[::1]:${(app.server.address() as AddressInfo).port}`)).get('/books/local')
  t.equal(remote.pushes[0]?.rstCode, http2.constants.NGHTTP2_CANCEL, 'from ::1 the resource is refused, so its push is taken back')
  t.equal(remote.pushes[0]?.body, '')
})

t.test('pushed requests that fail are reset, never breaking the main response', async (t) => {
  const { origin } = await start(t)
  const response = await (await client(t, origin)).get('/books/broken')
  t.equal(response.status, 200)
  const byPath = Object.fromEntries(response.pushes.map((push) => [push.path, push]))
  t.equal(byPath['/missing']?.rstCode, http2.constants.NGHTTP2_CANCEL, '404 not pushed')
  t.equal(byPath['/boom']?.rstCode, http2.constants.NGHTTP2_CANCEL, '500 not pushed')
  t.equal(byPath['/authors/1']?.status, 200)
})

t.test('a pushed request that hangs past pushTimeout is cancelled', async (t) => {
  const { origin } = await start(t, { pushTimeout: 50 })
  const response = await (await client(t, origin)).get('/books/slow')
  t.equal(response.status, 200)
  t.equal(response.pushes.find((push) => push.path === '/slow')?.rstCode, http2.constants.NGHTTP2_CANCEL, 'taken back')
  t.equal(response.pushes.find((push) => push.path === '/slow')?.body, '')
  t.equal(response.pushes.find((push) => push.path === '/authors/1')?.status, 200)
})

t.test('maxPushes caps the pushes; links past it are preloaded, not pushed', async (t) => {
  const { origin } = await start(t, { maxPushes: 3 })
  const response = await (await client(t, origin)).get('/books/many')
  t.same(response.pushes.map((push) => push.path), ['/authors/1', '/authors/2', '/authors/3'])
  const entries = String(response.headers.link).split(', ')
  t.equal(entries.length, 20)
  t.equal(entries[2], entry('/authors/3', true))
  t.equal(entries[3], entry('/authors/4'))
})

t.test('a URI is pushed at most once per HTTP/2 session, and never the requested resource itself', async (t) => {
  const { origin } = await start(t)
  const h2 = await client(t, origin)
  const first = await h2.get('/books/1')
  t.same(first.pushes.map((push) => push.path), ['/authors/1', '/reviews/1', '/publishers/1'])
  const second = await h2.get('/books/2')
  t.same(second.pushes.map((push) => push.path), ['/authors/2'], '/authors/1 is already on this connection')
  t.equal(second.headers.link, `${entry('/authors/1', true)}, ${entry('/authors/2', true)}`)
  const self = await h2.get('/books/self')
  t.same(self.pushes.map((push) => push.path), [], '/books/self was asked for, /authors/1 was pushed before')
  const other = await (await client(t, origin)).get('/books/2')
  t.same(other.pushes.map((push) => push.path), ['/authors/1', '/authors/2'], 'a new connection starts afresh')
})

t.test('what a session promised is let go of when it closes', async (t) => {
  const { origin, sessions } = await start(t)
  const h2 = await client(t, origin)
  await h2.get('/books/1')
  const session = sessions[0] as http2.ServerHttp2Session
  t.same([...promisedPaths(session) ?? []], ['/books/1', '/authors/1', '/reviews/1', '/publishers/1'])
  const closed = new Promise((resolve) => { session.once('close', resolve) })
  await h2.close()
  await closed
  t.equal(promisedPaths(session), undefined, 'Node may hold a closed session until its idle timer fires; the plugin does not wait')
})

t.test('pushDepth 2 pushes the relations of pushed resources too, from the client stream', async (t) => {
  const { origin } = await start(t, { pushDepth: 2 })
  const response = await (await client(t, origin)).get('/reviews/1')
  t.same(response.pushes.map((push) => push.path), ['/books/1', '/users/1', '/authors/1', '/reviews/1', '/publishers/1'].filter((path) => path !== '/reviews/1'),
    'hop 1: /books/1 and /users/1; hop 2: the book\'s links, but not /reviews/1, which was asked for')
  for (const push of response.pushes) t.equal(push.status, 200, push.path)

  const quiet = await (await client(t, origin)).get('/books/quiet')
  t.same(quiet.pushes.map((push) => push.path), ['/quiet/1', '/authors/8'], 'a nopush link of a pushed resource is not pushed on the next hop either')

  const capped = await start(t, { pushDepth: 3, maxPushes: 2 })
  const few = await (await client(t, capped.origin)).get('/reviews/1')
  t.same(few.pushes.map((push) => push.path), ['/books/1', '/users/1'], 'maxPushes counts all hops')
})

t.test('clients that reset pushed streams break nothing', async (t) => {
  const { origin } = await start(t)
  const h2 = await client(t, origin)
  const response = await h2.get('/books/1', {}, { resetPushes: (path) => path !== '/authors/1' })
  t.equal(response.status, 200)
  t.equal(response.pushes.find((push) => push.path === '/authors/1')?.status, 200)
  t.equal(response.pushes.find((push) => push.path === '/reviews/1')?.rstCode, http2.constants.NGHTTP2_CANCEL)
  const again = await h2.get('/books/2')
  t.equal(again.status, 200, 'the session keeps working')
})

t.test('a client that allows few concurrent streams gets what fits (ERR_HTTP2_OUT_OF_STREAMS)', async (t) => {
  const { origin } = await start(t)
  const h2 = await client(t, origin, { maxConcurrentStreams: 1 })
  const response = await h2.get('/books/1')
  t.equal(response.status, 200)
  t.ok(response.pushes.length < 3, `${response.pushes.length} promised`)
  t.equal(response.headers.link, graph['/books/1']?.map((path) => entry(path, true)).join(', '), 'the header was written before the pushes failed')
})

t.test('HEAD requests are not pushed to', async (t) => {
  const { origin } = await start(t)
  const h2 = await client(t, origin)
  const request = h2.session.request({ ':path': '/books/1', ':method': 'HEAD' })
  const pushes: string[] = []
  h2.session.on('stream', (_stream, headers) => { pushes.push(String(headers[':path'])) })
  const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => { request.on('response', resolve) })
  request.resume()
  await new Promise((resolve) => { request.on('close', resolve) })
  t.equal(headers.link, graph['/books/1']?.map((path) => entry(path)).join(', '))
  t.same(pushes, [])
})

t.test('reply.preload() pushes from the handler, before the payload exists', async (t) => {
  const { origin } = await start(t)
  const response = await (await client(t, origin)).get('/preloading')
  t.same(response.pushes.map((push) => push.path), ['/authors/7', '/authors/8'])
  t.equal(response.headers.link, `${entry('/authors/7', true)}, ${entry('/authors/8', true)}`)
})

/** A self-signed certificate for 127.0.0.1, made for the test. */
function selfSigned (t: Test): { key: Buffer, cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'push-tls-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
}

t.test('HTTPS with allowHTTP1: HTTP/2 clients get pushes, HTTP/1.1 clients the Link header only', async (t) => {
  if (skipWithoutBinaries(t, ['openssl'])) return
  const app = Fastify({ http2: true, https: { allowHTTP1: true, ...selfSigned(t) } })
  await app.register(pushRelations, { push: true })
  app.get('/books/1', { schema: { response: { 200: Links } } }, async () => ({ '@id': '/books/1', links: ['/authors/1'] }))
  app.get('/authors/1', async () => ({ '@id': '/authors/1' }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  const origin = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const h2 = await connect(origin, {}, { rejectUnauthorized: false })
  t.teardown(async () => { await h2.close() })
  const overHttp2 = await h2.get('/books/1')
  t.same(overHttp2.pushes.map((push) => [push.path, push.status]), [['/authors/1', 200]])
  t.equal(overHttp2.headers.link, entry('/authors/1', true))

  const overHttp1 = await new Promise<{ version: string, link: string | string[] | undefined }>((resolve, reject) => {
    https.get(`${origin}/books/1`, { rejectUnauthorized: false }, (response) => {
      response.resume()
      resolve({ version: response.httpVersion, link: response.headers.link })
    }).on('error', reject)
  })
  t.same(overHttp1, { version: '1.1', link: entry('/authors/1') })
})

/** An HTTP/2 app with push on and the given routes, listening on a free port. */
async function serve (t: Test, options: PushRelationsOptions, routes: (app: FastifyInstance) => void | Promise<void>): Promise<string> {
  const app = Fastify({ http2: true }) as unknown as FastifyInstance
  await app.register(pushRelations, { push: true, ...options })
  await routes(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

t.test('a payload whose serialization fails (500) leaves its pushes to later responses on the connection', async (t) => {
  let failures = 1
  const origin = await serve(t, {}, (app) => {
    app.get('/books/fragile', { schema: { response: { 200: Type.Object({ links: Push(Type.Array(Type.String())), title: Type.String() }) } } }, async () => ({
      links: ['/authors/1', '/authors/2'],
      // Read by the serializer only, after the links were collected.
      get title (): string {
        if (failures-- > 0) throw new Error('the serializer fails once')
        return 'Fragile'
      }
    }))
    app.get('/authors/:id', async (request) => request.params)
  })
  const h2 = await client(t, origin)
  const failed = await h2.get('/books/fragile')
  t.equal(failed.status, 500)
  t.same(failed.pushes, [], 'nothing promised for a 500')
  t.equal(failed.headers.link, undefined)
  const later = await h2.get('/books/fragile')
  t.equal(later.status, 200)
  t.same(later.pushes.map((push) => [push.path, push.status]), [['/authors/1', 200], ['/authors/2', 200]], 'the same connection still gets them')
  t.equal(later.headers.link, `${entry('/authors/1', true)}, ${entry('/authors/2', true)}`, 'nopush only for what this response pushed')
})

t.test('after 1,000 distinct requests on a connection, its responses still push', async (t) => {
  const origin = await serve(t, {}, (app) => {
    // Each list links to the same resource, pushed once: the lists only fill the connection's memory.
    app.get('/lists/:id', { schema: { response: { 200: Links } } }, async (request) => ({ '@id': request.url, links: ['/shared'] }))
    app.get('/books/1', { schema: { response: { 200: Links } } }, async () => ({ '@id': '/books/1', links: ['/authors/1', '/authors/2'] }))
    app.get('/:kind/:id', async (request) => request.params)
    app.get('/shared', async () => ({ shared: true }))
  })
  const h2 = await client(t, origin)
  let pushes = 0
  for (let first = 0; first < 1010; first += 50) {
    const responses = await Promise.all(Array.from({ length: 50 }, async (_, i) => await h2.get(`/lists/${first + i}`)))
    t.ok(responses.every((response) => response.status === 200))
    for (const response of responses) pushes += response.pushes.length
  }
  t.equal(pushes, 1, '/shared was pushed once')
  const response = await h2.get('/books/1')
  t.same(response.pushes.map((push) => [push.path, push.status]), [['/authors/1', 200], ['/authors/2', 200]])
  t.equal(response.headers.link, `${entry('/authors/1', true)}, ${entry('/authors/2', true)}`)
})

t.test('over HTTPS a pushed response is byte-identical to a direct one, and its next hop knows the https origin', async (t) => {
  if (skipWithoutBinaries(t, ['openssl'])) return
  const app = Fastify({ http2: true, https: { allowHTTP1: true, ...selfSigned(t) } })
  await app.register(pushRelations, { push: true, pushDepth: 2 })
  // Absolute URLs built from the request, as many APIs answer: `https://host/...` over TLS.
  const absolute = (request: { protocol: string, host: string }, path: string): string => `${request.protocol}://${request.host}${path}`
  app.get('/books/1', { schema: { response: { 200: Links } } }, async (request) => ({ '@id': absolute(request, '/books/1'), links: ['/authors/1'] }))
  app.get('/authors/1', { schema: { response: { 200: Links } } }, async (request) => ({ '@id': absolute(request, '/authors/1'), links: [absolute(request, '/publishers/1')] }))
  app.get('/publishers/1', async (request) => ({ '@id': absolute(request, '/publishers/1'), from: request.ip }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  const origin = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const h2 = await connect(origin, {}, { rejectUnauthorized: false })
  t.teardown(async () => { await h2.close() })

  const response = await h2.get('/books/1')
  t.same(response.pushes.map((push) => [push.path, push.status]), [['/authors/1', 200], ['/publishers/1', 200]],
    'the author\'s https:// link is of the same origin: pushed on the next hop')
  t.match(response.pushes[0]?.body, `"@id":"${origin}/authors/1"`)
  const plain = await connect(origin, { enablePush: false }, { rejectUnauthorized: false })
  t.teardown(async () => { await plain.close() })
  for (const push of response.pushes) {
    const direct = await plain.get(push.path)
    t.equal(push.body, direct.body, `${push.path}: byte-identical to the direct response`)
  }
})

/** The header names a peer sent with the never-indexed flag. */
const sensitiveOf = (headers: http2.IncomingHttpHeaders | undefined): string[] => (headers as Record<symbol, string[]> | undefined)?.[http2.sensitiveHeaders] ?? ['missing']

t.test('credentials in a PUSH_PROMISE are marked sensitive, so they are never HPACK-indexed', async (t) => {
  const { origin } = await start(t)
  const h2 = await client(t, origin)
  // nghttp2 never indexes short cookies on its own: this one is long enough to be indexed.
  const cookie = `session=${'c'.repeat(40)}`
  const response = await h2.get('/books/private', { authorization: 'Bearer secret', cookie, accept: 'application/json' })
  const granted = response.pushes.find((push) => push.path === '/private/1')
  t.equal(granted?.status, 200)
  t.equal(granted?.request.authorization, 'Bearer secret', 'they still arrive')
  t.equal(granted?.request.cookie, cookie)
  t.same([...sensitiveOf(granted?.request)].sort(), ['authorization', 'cookie'], 'received with the never-indexed flag')
  const anonymous = await (await client(t, origin)).get('/books/1', { accept: 'application/json' })
  t.same(sensitiveOf(anonymous.pushes[0]?.request), [], 'nothing else is marked')
})

t.test('pushed requests go through the app\'s own hooks: a client over its rate limit gets no push', async (t) => {
  const origin = await serve(t, {}, async (app) => {
    await app.register(rateLimit, { max: 3, timeWindow: 60_000 })
    app.get('/books/:id', { schema: { response: { 200: Links } } }, async (request) => {
      const { id } = request.params as { id: string }
      return { '@id': `/books/${id}`, links: [`/authors/${id}`, `/reviews/${id}`] }
    })
    app.get('/:kind/:id', async (request) => request.params)
  })
  const h2 = await client(t, origin)
  const first = await h2.get('/books/1')
  t.equal(first.status, 200)
  t.same(first.pushes.map((push) => [push.path, push.status]), [['/authors/1', 200], ['/reviews/1', 200]], 'three requests of three allowed')
  t.equal(first.pushes[1]?.headers['x-ratelimit-remaining'], '0', 'the pushes were counted')
  const second = await h2.get('/books/2')
  t.equal(second.status, 429, 'over the limit')
  t.same(second.pushes, [], 'and nothing pushed')
})

/**
 * A route that waits until its client goes away (request.signal), or 3 s; it reports what it
 * saw, and answers with a link that a next hop would push.
 */
function waitingRoute (app: FastifyInstance, url: string, events: string[]): { started: Promise<void>, finished: Promise<void> } {
  let started!: () => void
  let finished!: () => void
  const result = { started: new Promise<void>((resolve) => { started = resolve }), finished: new Promise<void>((resolve) => { finished = resolve }) }
  app.get(url, { schema: { response: { 200: Links } } }, async (request) => {
    const signal = request.signal
    started()
    const outcome = await new Promise<string>((resolve) => {
      const timer = setTimeout(resolve, 3000, `${url} not aborted`)
      signal.addEventListener('abort', () => { clearTimeout(timer); resolve(`${url} aborted`) }, { once: true })
    })
    events.push(outcome)
    finished()
    return { '@id': url, links: ['/publishers/1'] }
  })
  return result
}

t.test('a push cancelled by pushTimeout aborts the signal of its request and starts no further hop', async (t) => {
  const events: string[] = []
  let waiting!: ReturnType<typeof waitingRoute>
  const origin = await serve(t, { pushDepth: 2, pushTimeout: 50 }, (app) => {
    app.addHook('onRequest', async (request) => { events.push(request.url) })
    app.get('/books/1', { schema: { response: { 200: Links } } }, async () => ({ '@id': '/books/1', links: ['/slow-author'] }))
    waiting = waitingRoute(app, '/slow-author', events)
    app.get('/publishers/1', async () => ({ '@id': '/publishers/1' }))
  })
  const response = await (await client(t, origin)).get('/books/1')
  await waiting.finished
  t.same(response.pushes.map((push) => [push.path, push.rstCode]), [['/slow-author', http2.constants.NGHTTP2_CANCEL]])
  t.same(events, ['/books/1', '/slow-author', '/slow-author aborted'], 'the handler knew; /publishers/1 was never asked for')
})

t.test('a push reset by the client aborts the signal of its request and starts no further hop', async (t) => {
  const events: string[] = []
  let waiting!: ReturnType<typeof waitingRoute>
  const origin = await serve(t, { pushDepth: 2 }, (app) => {
    app.addHook('onRequest', async (request) => { events.push(request.url) })
    app.get('/books/1', { schema: { response: { 200: Links } } }, async () => ({ '@id': '/books/1', links: ['/waiting'] }))
    waiting = waitingRoute(app, '/waiting', events)
    app.get('/publishers/1', async () => ({ '@id': '/publishers/1' }))
  })
  const h2 = await client(t, origin)
  // Reset once the pushed request's handler runs: the client found the resource in its cache.
  h2.session.on('stream', (stream: http2.ClientHttp2Stream) => { waiting.started.then(() => { stream.close(http2.constants.NGHTTP2_CANCEL) }, () => {}) })
  const response = await h2.get('/books/1')
  await waiting.finished
  t.equal(response.status, 200)
  t.same(response.pushes.map((push) => [push.path, push.rstCode]), [['/waiting', http2.constants.NGHTTP2_CANCEL]])
  t.same(events, ['/books/1', '/waiting', '/waiting aborted'], 'the handler knew; /publishers/1 was never asked for')
})
