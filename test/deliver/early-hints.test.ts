import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import pushRelations, { Push, type PushRelationsOptions } from '../../lib/index.js'
import { connect } from '../helpers/h2client.js'
import { buildApp } from '../helpers/build.js'

const entry = (path: string, suffix = ''): string => `<${path}>; rel=preload; as=fetch${suffix}`
const Book = Type.Object({ author: Push(Type.String()), reviews: Push(Type.Array(Type.String())) })

t.test('reply.preload() adds links with the same URI rules, caps and de-duplication', async (t) => {
  const { app, logs } = await buildApp({ maxLinks: 4 })
  app.get('/books/:id', { schema: { response: { 200: Book } } }, async (_request, reply) => {
    reply.preload('/authors/1', 'reviews/2', 'https://evil.example/x', 'javascript:alert(1)', 42 as unknown as string)
    return { author: '/authors/1', reviews: ['/reviews/9', '/reviews/8', '/reviews/7'] }
  })
  app.get('/plain', async (_request, reply) => reply.preload('/a').preload('/b', '/a').send({ ok: true }))
  const response = await app.inject('/books/1')
  t.equal(response.headers.link, [entry('/authors/1'), entry('/books/reviews/2'), entry('/reviews/9'), entry('/reviews/8')].join(', '),
    'handler links first, then schema links; duplicates once; caps shared')
  t.match(logs.find((line) => String(line.msg).includes('not preloaded')), { cap: 'maxLinks' })
  t.equal((await app.inject('/plain')).headers.link, `${entry('/a')}, ${entry('/b')}`, 'works on routes without annotations, chainable')
})

t.test('reply.preload() keeps a Link value set before it and after it', async (t) => {
  const { app } = await buildApp()
  app.get('/', async (_request, reply) => {
    reply.header('link', '</first>; rel=next')
    reply.preload('/second')
    return { ok: true }
  })
  t.equal((await app.inject('/')).headers.link, `</first>; rel=next, ${entry('/second')}`)
})

t.test('reply.preload() after the response started is ignored', async (t) => {
  const { app, logs } = await buildApp()
  let late: unknown = null
  app.get('/', async (_request, reply) => {
    await reply.send({ ok: true })
    late = reply.preload('/late')
    return reply
  })
  const response = await app.inject('/')
  t.equal(response.headers.link, undefined)
  t.ok(late !== null, 'still returns the reply')
  t.ok(logs.some((line) => String(line.msg).includes('after the response started')))
})

t.test('reply.preload() without earlyHints sends no 103', async (t) => {
  const { origin } = await listen(t, {})
  const { informational, headers } = await http1Get(`${origin}/slow-book`)
  t.same(informational, [])
  t.equal(headers.link, [entry('/authors/1'), entry('/reviews/1')].join(', '))
})

interface Http1Result {
  informational: Array<{ statusCode: number, headers: http.IncomingHttpHeaders }>
  headers: http.IncomingHttpHeaders
  body: string
}

/** A GET over HTTP/1.1; `onInformation` sees each interim response as it arrives. */
function http1Get (url: string, onInformation: (info: http.InformationEvent) => void = () => {}): Promise<Http1Result> {
  return new Promise((resolve, reject) => {
    const informational: Http1Result['informational'] = []
    const request = http.get(url, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { body += chunk })
      response.on('end', () => { resolve({ informational, headers: response.headers, body }) })
    })
    request.on('information', (info) => {
      informational.push({ statusCode: info.statusCode, headers: info.headers })
      onInformation(info)
    })
    request.on('error', reject)
  })
}

async function listen (t: Test, options: PushRelationsOptions, http2 = false): Promise<{ origin: string }> {
  // The routes are the same for both; the instance types differ only in their raw server.
  const app = (http2 ? Fastify({ http2: true }) : Fastify()) as unknown as FastifyInstance
  await app.register(pushRelations, options)
  app.get('/slow-book', { schema: { response: { 200: Book } } }, async (_request, reply) => {
    // The handler knows the author before the slow part (loading reviews).
    reply.preload('/authors/1')
    await new Promise((resolve) => setTimeout(resolve, 100))
    return { author: '/authors/1', reviews: ['/reviews/1'] }
  })
  app.get('/:kind/:id', async (request) => request.params)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  return { origin: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

t.test('earlyHints: a 103 with the preload links goes out at once over HTTP/1.1', async (t) => {
  const app = Fastify()
  await app.register(pushRelations, { earlyHints: true })
  const events: string[] = []
  let release!: () => void
  const released = new Promise<string>((resolve) => { release = () => { resolve('handler released by the 103') } })
  app.get('/gated-book', { schema: { response: { 200: Book } } }, async (_request, reply) => {
    reply.preload('/authors/1')
    // The slow part ends only once the client holds the 103 (or, failing the test, after 3 s).
    events.push(await Promise.race([released, new Promise<string>((resolve) => setTimeout(resolve, 3000, 'handler gave up waiting'))]))
    return { author: '/authors/1', reviews: ['/reviews/1'] }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  const result = await http1Get(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/gated-book`, (info) => {
    events.push(`client got ${info.statusCode}`)
    release()
  })
  events.push('client got the response')
  t.same(events, ['client got 103', 'handler released by the 103', 'client got the response'], 'the 103 went out before the handler finished')
  t.equal(result.informational[0]?.headers.link, entry('/authors/1'))
  t.equal(result.headers.link, [entry('/authors/1'), entry('/reviews/1')].join(', '), 'the final header has the same links and the schema\'s')
})

t.test('earlyHints over HTTP/2; with push, the hinted links are pushed at once and marked nopush', async (t) => {
  const { origin } = await listen(t, { earlyHints: true }, true)
  const h2 = await connect(origin)
  t.teardown(async () => { await h2.close() })
  const response = await h2.get('/slow-book')
  t.same(response.informational.map((headers) => [headers[':status'], headers.link]), [[103, entry('/authors/1')]])
  t.equal(response.headers.link, [entry('/authors/1'), entry('/reviews/1')].join(', '))

  const pushing = await listen(t, { earlyHints: true, push: true }, true)
  const h2b = await connect(pushing.origin)
  t.teardown(async () => { await h2b.close() })
  const pushed = await h2b.get('/slow-book')
  t.same(pushed.informational.map((headers) => headers.link), [entry('/authors/1', '; nopush')])
  t.same(pushed.pushes.map((push) => [push.path, push.status]), [['/authors/1', 200], ['/reviews/1', 200]])
})

t.test('reply.preload() writes at once, as the handler asked, whatever the status it then sets', async (t) => {
  const { app } = await buildApp()
  app.get('/gone', { schema: { response: { 200: Book, 410: Type.Object({ author: Push(Type.String()) }) } } }, async (_request, reply) => {
    reply.preload('/authors/1')
    return await reply.code(410).send({ author: '/authors/2' })
  })
  const response = await app.inject('/gone')
  t.equal(response.statusCode, 410)
  t.equal(response.headers.link, entry('/authors/1'), 'the handler\'s own link; the payload of a 410 gives none')
})
