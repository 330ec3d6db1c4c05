import t from 'tap'
import { Type } from '@sinclair/typebox'
import { EventEmitter } from 'node:events'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { sensitiveHeaders, type ServerHttp2Stream } from 'node:http2'
import { Push } from '../../lib/index.js'
import { MAX_REMEMBERED_PER_SESSION, SessionPaths, promisedPaths } from '../../lib/deliver/push-sessions.js'
import { PushState, pushStateOf } from '../../lib/deliver/push-state.js'
import { Pusher } from '../../lib/deliver/pusher.js'
import { resolveOptions } from '../../lib/options.js'
import { buildApp } from '../helpers/build.js'

/**
 * Faults that real clients and servers produce only by bad luck (a stream that dies between
 * two calls, a Node that refuses a 103): the pusher and the writers must shrug them off.
 */

interface FakeLog { debug: (...args: unknown[]) => void, lines: unknown[][] }

function fakeRequest (): { request: FastifyRequest, log: FakeLog } {
  const log: FakeLog = { lines: [], debug: (...args) => { log.lines.push(args) } }
  return { request: { headers: { cookie: 'a=b' }, host: 'api.example.com', protocol: 'http', ip: '127.0.0.1', log } as unknown as FastifyRequest, log }
}

function pushStateWith (pushStream: ServerHttp2Stream['pushStream']): PushState {
  return new PushState({ pushStream } as unknown as ServerHttp2Stream, new SessionPaths(), 10)
}

t.test('a push the stream refuses at once (ERR_HTTP2_PUSH_DISABLED, a closed stream) is skipped', async (t) => {
  const { request, log } = fakeRequest()
  const state = pushStateWith(() => { throw Object.assign(new Error('Server push disabled by client'), { code: 'ERR_HTTP2_PUSH_DISABLED' }) })
  const pusher = new Pusher({} as FastifyInstance, resolveOptions({ push: true, pushDepth: 2 }))
  pusher.push(state, request, [{ path: '/authors/1', headers: {}, follow: false }])
  t.equal(state.pending.length, 1)
  await Promise.all(state.pending)
  t.match(log.lines, [[{ err: { code: 'ERR_HTTP2_PUSH_DISABLED' }, path: '/authors/1' }, 'fastify-push-relations: push not promised']])
})

t.test('a push the session cannot open (ERR_HTTP2_OUT_OF_STREAMS) is skipped', async (t) => {
  const { request, log } = fakeRequest()
  const state = pushStateWith(((_headers: unknown, callback: (error: Error | null) => void) => {
    callback(Object.assign(new Error('No stream ID is available'), { code: 'ERR_HTTP2_OUT_OF_STREAMS' }))
  }) as unknown as ServerHttp2Stream['pushStream'])
  const pusher = new Pusher({} as FastifyInstance, resolveOptions({ push: true, pushDepth: 2 }))
  pusher.push(state, request, [{ path: '/authors/1', headers: {}, follow: false }])
  await Promise.all(state.pending)
  t.match(log.lines, [[{ err: { code: 'ERR_HTTP2_OUT_OF_STREAMS' } }, 'fastify-push-relations: push not promised']])
})

t.test('a pushed request whose dispatch fails is cancelled', async (t) => {
  const { request, log } = fakeRequest()
  const pushed = Object.assign(new EventEmitter(), {
    destroyed: false,
    closedWith: -1,
    close (code: number) { this.closedWith = code }
  })
  const state = pushStateWith(((headers: Record<string | symbol, unknown>, callback: (error: null, stream: unknown) => void) => {
    t.same(Object.fromEntries(Object.entries(headers)), { ':method': 'GET', ':path': '/authors/1', cookie: 'a=b' }, 'the promise carries the forwarded headers')
    t.same(headers[sensitiveHeaders], ['cookie'], 'credentials are never HPACK-indexed')
    callback(null, pushed)
  }) as unknown as ServerHttp2Stream['pushStream'])
  const fastify = { routing: () => { throw new Error('the server is closing') } } as unknown as FastifyInstance
  const pusher = new Pusher(fastify, resolveOptions({ push: true, pushDepth: 2 }))
  pusher.push(state, request, [{ path: '/authors/1', headers: {}, follow: false }])
  await Promise.all(state.pending)
  t.equal(pushed.closedWith, 8, 'RST_STREAM with CANCEL')
  t.match(log.lines, [[{ err: { message: 'the server is closing' } }, 'fastify-push-relations: pushed request failed']])
  pushed.emit('error', new Error('reset by the client'))
  t.match(log.lines[1], [{ err: { message: 'reset by the client' } }, 'fastify-push-relations: pushed stream failed'], 'stream errors are logged, never thrown')
})

t.test('a 103 that cannot be sent never breaks the response', async (t) => {
  const { app, logs } = await buildApp({ earlyHints: true })
  app.get('/', async (_request, reply) => {
    reply.raw.writeEarlyHints = () => { throw new Error('no 103 here') }
    reply.preload('/authors/1')
    return { ok: true }
  })
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  t.equal(response.headers.link, '</authors/1>; rel=preload; as=fetch')
  t.match(logs.find((line) => String(line.msg).includes('103 Early Hints not sent')), { err: { message: 'no 103 here' } })
})

t.test('a Link header removed between two writes gets every entry again', async (t) => {
  const { app } = await buildApp()
  app.get('/', { schema: { response: { 200: Type.Object({ a: Push(Type.String()) }) } } }, async (_request, reply) => {
    reply.preload('/early')
    reply.removeHeader('link')
    return { a: '/late' }
  })
  t.equal((await app.inject('/')).headers.link, '</early>; rel=preload; as=fetch, </late>; rel=preload; as=fetch')
})

t.test('an absolute-form request target and an unusable Host do not break relative or absolute references', async (t) => {
  const { app } = await buildApp()
  app.get('/books/1', { schema: { response: { 200: Type.Object({ a: Push(Type.Array(Type.String())) }) } } },
    async () => ({ a: ['authors/1', 'http://api.example.com/authors/2'] }))
  // Node hands an absolute-form target (`GET http://host/books/1`, as sent to proxies) to Fastify as is.
  app.addHook('onRequest', async (request) => { (request.raw as { url: string }).url = 'http://api.example.com/books/1' })
  const weird = await app.inject({ url: '/books/1', headers: { host: 'bad host name' } })
  t.equal(weird.statusCode, 200)
  t.equal(weird.headers.link, '</books/authors/1>; rel=preload; as=fetch', 'relative to the target\'s path; the absolute URL is not the request\'s origin')
})

t.test('a $ref still missing at ready (a custom serializer does not resolve it) is reported', async (t) => {
  const { app, logs } = await buildApp()
  app.get('/', {
    schema: { response: { 200: { $ref: 'Nowhere' } } },
    serializerCompiler: () => (data) => JSON.stringify(data)
  }, async () => ({ a: '/a' }))
  await app.ready()
  t.match(logs.find((line) => line.level === 40), {
    route: 'GET /',
    unresolved: ['Nowhere'],
    msg: 'fastify-push-relations: $ref not found in the route\'s context; x-push annotations behind it are ignored'
  })
  t.equal((await app.inject('/')).headers.link, undefined)
})

t.test('what a connection makes the plugin remember is bounded, and never stops its pushes', async (t) => {
  const full = new SessionPaths()
  for (let i = 0; i < MAX_REMEMBERED_PER_SESSION; i++) full.remember(`/r/${i}`)
  const state = new PushState({} as ServerHttp2Stream, full, 10)
  t.equal(state.canClaim('/new'), true, `${MAX_REMEMBERED_PER_SESSION} paths on a connection: pushes go on`)
  t.equal(state.claim('/new'), true)
  t.equal(full.size, MAX_REMEMBERED_PER_SESSION, 'the bound holds')
  t.equal(full.has('/r/0'), false, 'the oldest path is forgotten')
  t.equal(full.has('/r/1'), true)
  t.equal(state.canClaim('/new'), false, 'a path is pushed once')
  const roomy = new PushState({} as ServerHttp2Stream, new SessionPaths(), 1)
  t.equal(roomy.claim('/a'), true)
  t.equal(roomy.claim('/b'), false, 'and no more than maxPushes per request')

  const session = new EventEmitter()
  const stream = Object.assign(new EventEmitter(), { destroyed: false, pushAllowed: true, session })
  const options = resolveOptions({ push: true })
  const requestFor = (url: string): FastifyRequest => ({ method: 'GET', url, raw: { stream } }) as unknown as FastifyRequest
  const first = pushStateOf(requestFor('/books/0'), options)
  t.ok(first !== null)
  for (let i = 1; i <= MAX_REMEMBERED_PER_SESSION + 5; i++) pushStateOf(requestFor(`/books/${i}`), options)
  const paths = promisedPaths(session as never)
  t.equal(paths?.size, MAX_REMEMBERED_PER_SESSION, 'requested paths are remembered up to the bound')
  const after = pushStateOf(requestFor('/books/last'), options)
  t.equal(after?.canClaim('/authors/1'), true, 'requested paths never use up the pushes of a connection')
  t.equal(after?.canClaim('/books/last'), false, 'the requested resource is not pushed back')
  pushStateOf(requestFor('/' + 'x'.repeat(options.maxLinkBytes)), options)
  t.equal(paths?.has('/' + 'x'.repeat(options.maxLinkBytes)), false, 'a URL too long to be a link is not remembered')
  session.emit('close')
  t.equal(promisedPaths(session as never), undefined)
})

t.test('a reservation is released when its push is not promised, and only once', async (t) => {
  const paths = new SessionPaths()
  const state = new PushState({} as ServerHttp2Stream, paths, 2)
  state.reserve('/a')
  state.reserve('/b')
  state.promised('/a')
  t.equal(state.remaining, 0)
  state.releaseUnsent()
  t.same([...paths], ['/a'], '/b was never promised: a later response may push it')
  t.equal(state.remaining, 1)
  state.release('/a')
  state.release('/b')
  t.same([...paths], ['/a'], 'a promised path stays, a released one is not released twice')
  t.equal(state.remaining, 1)
})
