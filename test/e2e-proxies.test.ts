// End to end: the example bookshop (and a few test-only routes) served by Fastify over
// HTTP/1.1 on loopback, with real nginx, Apache httpd (mod_http2) and h2o reverse proxies in
// front (h2c, prior knowledge), observed with the real nghttp client. Each test says which
// paths each proxy promised and pushed completely: 200, END_STREAM, and as many body bytes as
// a direct GET of the same path on the app. docs/proxies.md builds its "what each proxy
// pushes" table from these tests and cites them by name: rename both together.
//
// Surprises the harness found (test/proxies-harness.test.ts) and this file works around:
// nginx promises a path again on a connection that already got it, and nghttp cancels a push
// of a URL it requested itself, so every page whose pushes are counted gets its own
// connection, and no pushed URL is requested.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

import * as implementation from '../lib/index.js'
import { skipWithoutBinaries } from './helpers/binaries.js'
import { nghttp, type NghttpOptions, type NghttpRequest, type NghttpRun } from './helpers/nghttp.js'
import { startProxy, type ProxyKind, type ProxyOptions, type RunningProxy } from './helpers/proxies.js'

type Bookshop = typeof import('../example/bookshop.mjs')
type BookshopOptions = NonNullable<Parameters<Bookshop['buildBookshop']>[0]>

const KINDS: ProxyKind[] = ['nginx', 'apache', 'h2o']
const BINARY: Record<ProxyKind, string> = { nginx: 'nginx', apache: 'apache2', h2o: 'h2o' }
const { Push } = implementation
const pushRelations = implementation.default

const entry = (path: string): string => `<${path}>; rel=preload; as=fetch`
const linkOf = (paths: readonly string[]): string => paths.map(entry).join(', ')

/** What the example links from /books/1 (seriesId is null) and from /books (both members). */
const BOOK_1 = ['/authors/1', '/reviews/1', '/reviews/2', '/publishers/1']
const COLLECTION = [...BOOK_1, '/authors/2', '/reviews/3', '/publishers/2', '/series/1']

// --- upstreams ------------------------------------------------------------------------

interface Upstream {
  port: number
  /** Body length of a direct HTTP/1.1 GET of `path` on the app (no proxy); rejects unless 200. */
  directBytes (path: string): Promise<number>
}

/** Serves `app` on a free 127.0.0.1 port until `t` ends. */
async function serve (t: Test, app: FastifyInstance): Promise<Upstream> {
  // Added before any proxy of `t` or of its subtests: tap runs teardowns last-in first-out, so
  // the proxies stop before their upstream closes (Apache waits for busy upstream requests).
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const bodies = new Map<string, Promise<number>>()
  return {
    port,
    directBytes (path) {
      let bytes = bodies.get(path)
      if (bytes === undefined) {
        bytes = fetch(`http://127.0.0.1:${port}${path}`).then(async (response) => {
          if (response.status !== 200) throw new Error(`direct GET ${path}: ${response.status}`)
          return (await response.arrayBuffer()).byteLength
        })
        bodies.set(path, bytes)
      }
      return bytes
    }
  }
}

/** The example as users run it, with the package name mapped to this checkout's sources. */
async function bookshop (t: Test, options: BookshopOptions = {}): Promise<FastifyInstance> {
  const { buildBookshop } = await t.mockImport<Bookshop>('../example/bookshop.mjs', { 'fastify-push-relations': implementation })
  return await buildBookshop(options)
}

/** Relations of ~110 characters: 32 make a 4.4 KB Link header, 64 make 8.8 KB. */
const LONG_PATHS = Array.from({ length: 64 }, (_, i) => `/long/${'x'.repeat(50)}/${'y'.repeat(50)}-${i}`)
/** 32 relations of 33 characters: a Link header under the default maxLinkBytes (2048). */
const SHORT_PATHS = Array.from({ length: 32 }, (_, i) => `/long/${'c'.repeat(24)}-${String(i).padStart(2, '0')}`)
/** A session cookie of 2.2 KB: with the links, the upstream's headers pass nginx's default 4 KB. */
const BIG_COOKIE = `session=${'s'.repeat(2200)}; Path=/; HttpOnly`
/** The entries that fit the default maxLinkBytes (2048): 15 of them. */
const CAPPED_PATHS = LONG_PATHS.filter((_, i) => linkOf(LONG_PATHS.slice(0, i + 1)).length <= 2048)

const Related = Type.Object({ '@id': Type.String(), related: Push(Type.Array(Type.String())) })
const WithAuthor = Type.Object({ '@id': Type.String(), author: Push(Type.String()) })

/**
 * Test-only routes: absolute URLs and long Link headers. The plugin is registered in three
 * encapsulated contexts (default options, no byte cap, no byte cap and 64 links), so one
 * upstream serves them all.
 */
async function fixtureApp (): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(async function defaults (scope) {
    await scope.register(pushRelations)
    // An API that renders relations as absolute URLs of its own origin (the Host it was asked for).
    scope.get('/absolute', { schema: { response: { 200: WithAuthor } } }, async (request) => ({
      '@id': '/absolute',
      author: `${request.protocol}://${request.host}/authors/1`
    }))
    scope.get('/long-links', { schema: { response: { 200: Related } } }, async () => ({ '@id': '/long-links', related: LONG_PATHS.slice(0, 32) }))
    scope.get('/links-and-cookie', { schema: { response: { 200: Related } } }, async (_request, reply) => {
      reply.header('set-cookie', BIG_COOKIE)
      return { '@id': '/links-and-cookie', related: SHORT_PATHS }
    })
  })
  await app.register(async function uncapped (scope) {
    await scope.register(pushRelations, { maxLinkBytes: 65536 })
    scope.get('/long-links-uncapped', { schema: { response: { 200: Related } } }, async () => ({ '@id': '/long-links-uncapped', related: LONG_PATHS.slice(0, 32) }))
  })
  await app.register(async function longer (scope) {
    await scope.register(pushRelations, { maxLinkBytes: 65536, maxLinks: 64 })
    scope.get('/longer-links', { schema: { response: { 200: Related } } }, async () => ({ '@id': '/longer-links', related: LONG_PATHS }))
  })
  // The same absolute URL written by hand, without the plugin: what a proxy does with it as is.
  app.get('/raw-absolute', async (request, reply) => {
    reply.header('link', entry(`${request.protocol}://${request.host}/authors/2`))
    return { '@id': '/raw-absolute' }
  })
  app.get('/authors/:id', async (request) => ({ '@id': `/authors/${(request.params as { id: string }).id}` }))
  app.get('/long/*', async (request) => ({ '@id': request.url }))
  return app
}

/** How long the early-hints route works after `reply.preload()`. */
const WORK_MS = 100

/** `reply.preload()` first, then slow work: with `earlyHints: true` the app sends a 103 at once. */
/**
 * How the last `/slow-book` handler ended its work: `'preload'` once the author it preloaded was
 * fetched (so the hint acted before the final response existed), `'timeout'` if never.
 */
let slowBookEnded: 'preload' | 'timeout' | null = null

async function earlyHintsApp (): Promise<FastifyInstance> {
  // nginx 1.22 only ends a proxied 103 when the upstream closes the connection: a short
  // keep-alive (Node adds a second of grace to it) keeps that test near 1.2 s instead of 73 s.
  const app = Fastify({ keepAliveTimeout: 100 })
  await app.register(pushRelations, { earlyHints: true })
  let authorFetched: (() => void) | null = null
  app.get('/slow-book', { schema: { response: { 200: WithAuthor } } }, async (_request, reply) => {
    // The "work" lasts until the preloaded author is fetched: events, not times, show that the
    // hint was acted on before the final response (a loaded machine stretches every time).
    const fetched = new Promise<'preload'>((resolve) => { authorFetched = () => { resolve('preload') } })
    reply.preload('/authors/1')
    let timer: NodeJS.Timeout | undefined
    const fallback = new Promise<'timeout'>((resolve) => { timer = setTimeout(resolve, WORK_MS * 50, 'timeout') })
    slowBookEnded = await Promise.race([fetched, fallback])
    clearTimeout(timer)
    return { '@id': '/slow-book', author: '/authors/1' }
  })
  app.get('/authors/:id', async (request) => {
    authorFetched?.()
    authorFetched = null
    return { '@id': `/authors/${(request.params as { id: string }).id}`, name: 'Author' }
  })
  return app
}

// --- proxies and the client -----------------------------------------------------------

/** Starts `kind` in front of `upstream` until `t` ends (its log is printed if `t` failed). */
async function proxy (t: Test, kind: ProxyKind, upstream: Upstream, options: Omit<ProxyOptions, 'upstreamPort'> = {}): Promise<RunningProxy> {
  const running = await startProxy(kind, { upstreamPort: upstream.port, ...options })
  t.teardown(async () => {
    if (!t.passing()) t.comment(`--- ${kind} log ---\n${running.log()}`)
    await running.stop()
  })
  return running
}

/** Runs `body` once per proxy kind, in a subtest named after it (skipped without the binaries). */
function eachProxy (t: Test, body: (t: Test, kind: ProxyKind) => Promise<void>): void {
  for (const kind of KINDS) {
    t.test(kind, async (t) => {
      if (skipWithoutBinaries(t, [BINARY[kind], 'nghttp'])) return
      await body(t, kind)
    })
  }
}

/** Requests `paths` through `via` on one HTTP/2 connection. */
function get (via: RunningProxy, paths: string[], options: NghttpOptions = {}): Promise<NghttpRun> {
  return nghttp(paths.map((path) => `http://127.0.0.1:${via.port}${path}`), options)
}

function requestOf (run: NghttpRun, path: string): NghttpRequest {
  const request = run.requests.find((r) => r.path === path)
  if (request === undefined) throw new Error(`no request for ${path} in the trace:\n${run.trace}`)
  return request
}

const short = (path: string): string => path.length > 40 ? `${path.slice(0, 12)}...${path.slice(-8)}` : path
const list = (paths: readonly string[]): string => paths.length > 8 ? `${paths.length} paths` : JSON.stringify(paths)

/** The page answered 200, completely, with the Link header the app wrote. */
function assertAnswered (t: Test, run: NghttpRun, path: string, link: string): NghttpRequest {
  const request = requestOf(run, path)
  t.match(request, { status: 200, endStream: true, reset: null }, `${path}: 200, complete`)
  t.equal(request.headers['link'], link, `${path}: Link header as the app wrote it`)
  return request
}

/**
 * Exactly `expected` was promised, in that order, and each push is complete and identical in
 * length to a direct GET of its path; nothing was reset and nghttp reported nothing.
 */
async function assertPushed (t: Test, run: NghttpRun, upstream: Upstream, expected: readonly string[]): Promise<void> {
  t.same(run.promised, expected, `promised ${list(expected)}`)
  t.same(run.pushed, expected, 'every promised push completed')
  for (const push of run.pushes) {
    const bytes = await upstream.directBytes(push.path)
    t.match(push, { method: 'GET', status: 200, endStream: true, reset: null, bodyBytes: bytes },
      `pushed ${short(push.path)}: 200, END_STREAM, ${bytes} bytes like a direct GET`)
  }
  t.same(run.rstStreams, [], 'no stream reset')
  t.same(run.messages, [], 'nghttp reported nothing unusual')
}

// --- the example bookshop -------------------------------------------------------------

t.test('example bookshop, default options', async (t) => {
  const upstream = await serve(t, await bookshop(t))

  eachProxy(t, async (t, kind) => {
    const via = await proxy(t, kind, upstream)

    t.test('GET /books/1 pushes its author, reviews and publisher', async (t) => {
      const run = await get(via, ['/books/1'])
      assertAnswered(t, run, '/books/1', linkOf(BOOK_1))
      await assertPushed(t, run, upstream, BOOK_1)
    })

    t.test('GET /books pushes the 8 relations of its members (under nginx\'s cap of 10)', async (t) => {
      const run = await get(via, ['/books'])
      assertAnswered(t, run, '/books', linkOf(COLLECTION))
      await assertPushed(t, run, upstream, COLLECTION)
    })

    t.test('HEAD /books/1 has the same Link header; only h2o pushes', async (t) => {
      const run = await get(via, ['/books/1'], { headers: { ':method': 'HEAD' } })
      const request = assertAnswered(t, run, '/books/1', linkOf(BOOK_1))
      t.match(request, { method: 'HEAD', bodyBytes: 0 }, 'no body')
      await assertPushed(t, run, upstream, kind === 'h2o' ? BOOK_1 : [])
    })
  })
})

t.test('example bookshop with nopush: true', async (t) => {
  const upstream = await serve(t, await bookshop(t, { pushRelations: { nopush: true } }))

  eachProxy(t, async (t, kind) => {
    const via = await proxy(t, kind, upstream)
    t.test('the links say nopush and nothing is pushed', async (t) => {
      // nothing is pushed, so both pages can share the connection
      const run = await get(via, ['/books/1', '/books'])
      const nopush = (paths: string[]): string => paths.map((path) => `${entry(path)}; nopush`).join(', ')
      assertAnswered(t, run, '/books/1', nopush(BOOK_1))
      assertAnswered(t, run, '/books', nopush(COLLECTION))
      await assertPushed(t, run, upstream, [])
    })
  })
})

t.test('example bookshop with maxLinks: 2', async (t) => {
  const upstream = await serve(t, await bookshop(t, { pushRelations: { maxLinks: 2 } }))
  const firstTwo = ['/authors/1', '/reviews/1']

  eachProxy(t, async (t, kind) => {
    const via = await proxy(t, kind, upstream)
    t.test('only the first two relations are linked and pushed', async (t) => {
      for (const page of ['/books/1', '/books']) {
        const run = await get(via, [page])
        assertAnswered(t, run, page, linkOf(firstTwo))
        await assertPushed(t, run, upstream, firstTwo)
      }
    })
  })
})

// --- test-only routes -----------------------------------------------------------------

t.test('absolute same-origin URLs', async (t) => {
  const upstream = await serve(t, await fixtureApp())

  eachProxy(t, async (t, kind) => {
    const via = await proxy(t, kind, upstream)

    t.test('through the plugin they become paths, which every proxy pushes', async (t) => {
      const run = await get(via, ['/absolute'])
      assertAnswered(t, run, '/absolute', entry('/authors/1'))
      await assertPushed(t, run, upstream, ['/authors/1'])
    })

    t.test('written as is (without the plugin), nginx does not push them', async (t) => {
      const run = await get(via, ['/raw-absolute'])
      // the proxies pass the client's Host on: the app sees its public origin
      assertAnswered(t, run, '/raw-absolute', entry(`http://127.0.0.1:${via.port}/authors/2`))
      await assertPushed(t, run, upstream, kind === 'nginx' ? [] : ['/authors/2'])
    })
  })
})

t.test('Link header size: maxLinkBytes against nginx\'s 4 KB buffer and Apache\'s 8 KB line', async (t) => {
  const upstream = await serve(t, await fixtureApp())
  t.equal(CAPPED_PATHS.length, 15, '15 of the 32 entries fit the default maxLinkBytes')
  t.ok(linkOf(LONG_PATHS.slice(0, 32)).length > 4096, `32 entries: ${linkOf(LONG_PATHS.slice(0, 32)).length} bytes, over nginx's 4 KB`)
  t.ok(linkOf(LONG_PATHS).length > 8192, `64 entries: ${linkOf(LONG_PATHS).length} bytes, over Apache's 8 KB`)

  eachProxy(t, async (t, kind) => {
    // nginx with its own defaults here: the harness's nginx has 16k buffers
    const defaults = kind === 'nginx' ? await proxy(t, kind, upstream, { nginxDefaultBuffers: true }) : null
    const via = await proxy(t, kind, upstream)
    // nginx pushes at most 10 per response (http2_max_concurrent_pushes)
    const pushable = (paths: string[]): string[] => kind === 'nginx' ? paths.slice(0, 10) : paths

    t.test('the default cap (maxLinkBytes 2048) passes every proxy', async (t) => {
      const run = await get(defaults ?? via, ['/long-links'])
      const request = assertAnswered(t, run, '/long-links', linkOf(CAPPED_PATHS))
      t.ok(String(request.headers['link']).length <= 2048, 'at most 2048 bytes')
      await assertPushed(t, run, upstream, pushable(CAPPED_PATHS))
    })

    if (defaults !== null) {
      t.test('nginx defaults, 4.4 KB without the cap: 502', async (t) => {
        const run = await get(defaults, ['/long-links-uncapped'])
        const request = requestOf(run, '/long-links-uncapped')
        t.match(request, { status: 502, endStream: true, reset: null }, '502 Bad Gateway')
        t.equal(request.headers['link'], undefined, 'no Link header')
        t.same(run.promised, [], 'nothing pushed')
        t.match(defaults.log(), 'upstream sent too big header', 'nginx says why')
      })
    }

    t.test('4.4 KB Link header (maxLinkBytes raised)', async (t) => {
      const run = await get(via, ['/long-links-uncapped'])
      assertAnswered(t, run, '/long-links-uncapped', linkOf(LONG_PATHS.slice(0, 32)))
      await assertPushed(t, run, upstream, pushable(LONG_PATHS.slice(0, 32)))
    })

    t.test('8.8 KB Link header (maxLinks 64, maxLinkBytes raised)', async (t) => {
      const run = await get(via, ['/longer-links'])
      if (kind === 'apache') {
        t.match(requestOf(run, '/longer-links'), { status: 502, endStream: true, reset: null }, 'Apache: 502 Bad Gateway')
        t.same(run.promised, [], 'nothing pushed')
        t.match(via.log(), /AH01106: bad HTTP\/1\.1 header returned by \/longer-links/, 'Apache says why')
        return
      }
      assertAnswered(t, run, '/longer-links', linkOf(LONG_PATHS))
      await assertPushed(t, run, upstream, pushable(LONG_PATHS))
    })
  })
})

t.test('nginx: 32 links under maxLinkBytes and a 2.2 KB Set-Cookie share the upstream header buffer', async (t) => {
  if (skipWithoutBinaries(t, ['nginx', 'nghttp'])) return
  const upstream = await serve(t, await fixtureApp())
  const link = linkOf(SHORT_PATHS)
  t.ok(link.length <= 2048, `the Link header (${link.length} bytes) fits the default maxLinkBytes`)
  t.ok(link.length + BIG_COOKIE.length > 4096, `with the cookie (${BIG_COOKIE.length} bytes), over nginx's 4 KB`)

  t.test('the documented config (proxy_buffer_size 16k...): 200, the cookie passes, the first 10 links are pushed', async (t) => {
    const via = await proxy(t, 'nginx', upstream)
    const run = await get(via, ['/links-and-cookie'])
    const request = assertAnswered(t, run, '/links-and-cookie', link)
    t.equal(request.headers['set-cookie'], BIG_COOKIE, 'Set-Cookie as the app wrote it')
    await assertPushed(t, run, upstream, SHORT_PATHS.slice(0, 10))
  })

  t.test('without the buffer lines: 502', async (t) => {
    const defaults = await proxy(t, 'nginx', upstream, { nginxDefaultBuffers: true })
    const run = await get(defaults, ['/links-and-cookie'])
    t.match(requestOf(run, '/links-and-cookie'), { status: 502, endStream: true, reset: null }, '502 Bad Gateway')
    t.same(run.promised, [], 'nothing pushed')
    t.match(defaults.log(), 'upstream sent too big header', 'nginx says why')
  })
})

// --- 103 Early Hints ------------------------------------------------------------------

interface EarlyTiming {
  proxy: string
  /** seconds since connect, from nghttp's trace; null when it never came */
  hint: number | null
  promise: number | null
  final: number | null
  reset: number | null
}

const seconds = (at: number | null): string => at === null ? '-' : `${at.toFixed(3)} s`

t.test('Early Hints: reply.preload(), then work that ends once the preloaded author is fetched', async (t) => {
  const upstream = await serve(t, await earlyHintsApp())
  const timings: EarlyTiming[] = []
  const page = '/slow-book'

  t.test('the app itself (HTTP/1.1): 103 with the link, then 200 with the same link once', async (t) => {
    const hints: string[] = []
    const link = await new Promise<string | string[] | undefined>((resolve, reject) => {
      const request = http.get(`http://127.0.0.1:${upstream.port}${page}`, { agent: false }, (response) => {
        response.resume()
        response.on('end', () => { resolve(response.headers.link) })
      })
      request.on('information', (info) => {
        hints.push(`${info.statusCode} ${String(info.headers['link'])}`)
        // a client acting on the hint fetches the author while the page is still being made
        http.get(`http://127.0.0.1:${upstream.port}/authors/1`, { agent: false }, (author) => { author.resume() })
      })
      request.on('error', reject)
    })
    t.same(hints, [`103 ${entry('/authors/1')}`], 'one 103, with the preloaded link')
    t.equal(slowBookEnded, 'preload', 'the hinted author was fetched before the page was finished')
    t.equal(link, entry('/authors/1'), 'the final Link names it once (preload and schema de-duplicated)')
  })

  const variants: Array<{ kind: ProxyKind, name: string, options: Omit<ProxyOptions, 'upstreamPort'> }> = [
    { kind: 'nginx', name: 'nginx', options: {} },
    { kind: 'apache', name: 'apache with H2EarlyHints on', options: { earlyHints: true } },
    { kind: 'apache', name: 'apache', options: {} },
    { kind: 'h2o', name: 'h2o', options: {} }
  ]
  for (const { kind, name, options } of variants) {
    t.test(name, async (t) => {
      if (skipWithoutBinaries(t, [BINARY[kind], 'nghttp'])) return
      const via = await proxy(t, kind, upstream, options)
      const run = await get(via, [page])
      const request = requestOf(run, page)
      const push = run.pushes[0]
      timings.push({ proxy: name, hint: request.interim[0]?.at ?? null, promise: push?.promisedAt ?? null, final: request.at, reset: run.rstStreams[0]?.at ?? null })

      t.same(run.promised, ['/authors/1'], 'the preloaded author is promised once')
      t.same(run.pushed, ['/authors/1'], 'and pushed completely')
      t.match(push, { status: 200, endStream: true, reset: null, bodyBytes: await upstream.directBytes('/authors/1') }, 'with the bytes of a direct GET')

      if (kind === 'nginx') {
        // nginx 1.22 takes the 103 for the final response (pushing from its Link at once)
        // and the real 200 for its body: when the upstream closes the idle connection, it
        // sends DATA after a 1xx, and nghttp resets the stream.
        t.match(request, { status: null, endStream: false, reset: 'PROTOCOL_ERROR', bodyBytes: 0 }, 'no final response: the stream is reset')
        t.match(request.interim, [{ status: 103, headers: { link: entry('/authors/1') } }], 'the 103 arrives, with the link')
        t.equal(request.interim.length, 1)
        t.match(run.rstStreams, [{ direction: 'send', streamId: request.streamId, errorCode: 'PROTOCOL_ERROR' }], 'nghttp sends RST_STREAM(PROTOCOL_ERROR)')
        t.equal(run.rstStreams.length, 1)
        t.match(run.messages, [/^Some requests were not processed/])
        t.ok((run.rstStreams[0]?.at ?? 0) > WORK_MS / 1000, 'only once the upstream closes its connection, long after the 200 was sent')
        return
      }

      assertAnswered(t, run, page, entry('/authors/1'))
      t.same(run.rstStreams, [], 'no stream reset')
      // the handler finishes only once the proxy fetched the preloaded author: the push started
      // from the 103, before the final response existed
      t.equal(slowBookEnded, 'preload', 'the proxy fetched the preloaded author while the handler was working')
      const final = request.at ?? 0
      const promised = push?.promisedAt ?? Infinity
      t.ok(promised <= final, `pushed early: PUSH_PROMISE at ${seconds(promised)}, final response at ${seconds(final)}`)
      if (options.earlyHints === true) {
        // mod_http2 adds its push-policy header to the forwarded 103
        t.match(request.interim, [{ status: 103, headers: { link: entry('/authors/1'), 'push-policy': 'default' } }], 'the 103 is forwarded')
        t.equal(request.interim.length, 1)
        const hint = request.interim[0]?.at ?? Infinity
        t.ok(hint <= final, `the 103 arrives at ${seconds(hint)}, before the final response`)
      } else {
        t.same(request.interim, [], 'the 103 is dropped')
      }
    })
  }

  t.test('timings', async (t) => {
    if (timings.length === 0) {
      t.plan(0, 'no proxy ran')
      return
    }
    t.equal(timings.length, variants.length, 'one row per proxy')
    t.comment([
      'Early Hints through proxies (seconds since connect, from the nghttp trace):',
      ...timings.map((row) => `  ${row.proxy.padEnd(28)} 103: ${seconds(row.hint).padEnd(8)} PUSH_PROMISE: ${seconds(row.promise).padEnd(8)} ` +
        `final: ${seconds(row.final).padEnd(8)} RST_STREAM: ${seconds(row.reset)}`)
    ].join('\n'))
  })
})
