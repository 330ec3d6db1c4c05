import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http2 from 'node:http2'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pushRelations, { Push, type PushRelationsOptions } from '../lib/index.js'
import { promisedPaths } from '../lib/http2-push.js'
import { connect, type H2Client } from './helpers/h2client.js'
import { nghttp } from './helpers/nghttp.js'
import { skipWithoutBinaries } from './helpers/binaries.js'

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
  app.get('/slow', async () => await new Promise((resolve) => setTimeout(resolve, 1000, { late: true })))
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
  const began = Date.now()
  const response = await (await client(t, origin)).get('/books/slow')
  t.equal(response.status, 200)
  t.ok(Date.now() - began < 900, 'nobody waited for the slow resource')
  t.equal(response.pushes.find((push) => push.path === '/slow')?.rstCode, http2.constants.NGHTTP2_CANCEL)
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

t.test('HTTPS with allowHTTP1: HTTP/2 clients get pushes, HTTP/1.1 clients the Link header only', async (t) => {
  if (skipWithoutBinaries(t, ['openssl'])) return
  const dir = mkdtempSync(join(tmpdir(), 'push-tls-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
  const app = Fastify({ http2: true, https: { allowHTTP1: true, key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } })
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
