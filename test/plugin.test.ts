import t from 'tap'
import { Type } from '@sinclair/typebox'
import net, { type AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { Push } from '../lib/index.js'
import { buildApp } from './helpers/build.js'

const Book = Type.Object({
  '@id': Type.String(),
  title: Type.String(),
  author: Type.String({ 'x-push': true }),
  reviews: Push(Type.Array(Type.String()))
})
const book = { '@id': '/books/1', title: '1984', author: '/authors/1', reviews: ['/reviews/7', '/reviews/8'] }

t.test('the issue example: one Link header, entries joined by ", ", unquoted lower-case parameters', async (t) => {
  const { app } = await buildApp()
  app.get('/books/:id', { schema: { response: { 200: Book } } }, async () => book)
  const response = await app.inject('/books/1')
  t.equal(response.statusCode, 200)
  t.equal(response.headers.link, '</authors/1>; rel=preload; as=fetch, </reviews/7>; rel=preload; as=fetch, </reviews/8>; rel=preload; as=fetch')
  t.same(response.json(), book, 'the body is untouched')
  t.type(response.headers.link, 'string', 'a single Link header line (several would be an array)')
})

t.test('options shape every entry: rel, as, crossorigin, nopush', async (t) => {
  const cases = [
    [{ rel: 'prefetch' }, '</authors/1>; rel=prefetch; as=fetch'],
    [{ as: 'document' }, '</authors/1>; rel=preload; as=document'],
    [{ crossorigin: 'anonymous' as const }, '</authors/1>; rel=preload; as=fetch; crossorigin'],
    [{ crossorigin: 'use-credentials' as const }, '</authors/1>; rel=preload; as=fetch; crossorigin=use-credentials'],
    [{ nopush: true }, '</authors/1>; rel=preload; as=fetch; nopush']
  ] as const
  for (const [options, expected] of cases) {
    const { app } = await buildApp(options)
    app.get('/', { schema: { response: { 200: Type.Object({ author: Push(Type.String()) }) } } }, async () => ({ author: '/authors/1' }))
    t.equal((await app.inject('/')).headers.link, expected, JSON.stringify(options))
  }
})

t.test('per-field overrides in the object form of x-push', async (t) => {
  const { app } = await buildApp({ crossorigin: 'anonymous' })
  const Schema = Type.Object({
    cover: Push(Type.String(), { as: 'image', crossorigin: false }),
    author: Push(Type.Integer(), { template: '/authors/{id}', nopush: true }),
    next: Push(Type.String(), { rel: 'prefetch' })
  })
  app.get('/', { schema: { response: { 200: Schema } } }, async () => ({ cover: '/covers/1.jpg', author: 4, next: '/books/2' }))
  t.equal((await app.inject('/')).headers.link,
    '</covers/1.jpg>; rel=preload; as=image, </authors/4>; rel=preload; as=fetch; crossorigin; nopush, </books/2>; rel=prefetch; as=fetch; crossorigin')
})

t.test('entries are de-duplicated by URI, in first-seen (document) order', async (t) => {
  const { app } = await buildApp()
  const Schema = Type.Object({
    member: Type.Array(Type.Object({ author: Push(Type.String()), publisher: Push(Type.String()) }))
  })
  app.get('/', { schema: { response: { 200: Schema } } }, async () => ({
    member: [
      { author: '/authors/2', publisher: '/publishers/1' },
      { author: '/authors/1', publisher: '/publishers/1' },
      { author: '/authors/2', publisher: '/publishers/9' }
    ]
  }))
  t.equal((await app.inject('/')).headers.link,
    '</authors/2>; rel=preload; as=fetch, </publishers/1>; rel=preload; as=fetch, </authors/1>; rel=preload; as=fetch, </publishers/9>; rel=preload; as=fetch')
})

t.test('a Link value set by the handler or another plugin stays first', async (t) => {
  const { app } = await buildApp()
  const Schema = Type.Object({ a: Push(Type.String()), b: Push(Type.String()) })
  app.get('/string', { schema: { response: { 200: Schema } } }, async (_request, reply) => {
    reply.header('link', '</docs.jsonld>; rel="http://www.w3.org/ns/hydra/core#apiDocumentation"')
    return { a: '/a', b: '/b' }
  })
  app.get('/array', { schema: { response: { 200: Schema } } }, async (_request, reply) => {
    reply.header('link', ['</x>; rel=next', '</a>; rel=preload; as=fetch'])
    return { a: '/a', b: '/b' }
  })
  app.get('/later', {
    schema: { response: { 200: Schema } },
    onSend: (_request, reply, payload, done) => {
      reply.header('link', '</from-onsend>; rel=alternate')
      done(null, payload)
    }
  }, async () => ({ a: '/a', b: '/b' }))

  const string = await app.inject('/string')
  t.equal(string.headers.link, '</docs.jsonld>; rel="http://www.w3.org/ns/hydra/core#apiDocumentation", </a>; rel=preload; as=fetch, </b>; rel=preload; as=fetch')
  const array = await app.inject('/array')
  t.equal(array.headers.link, '</x>; rel=next, </a>; rel=preload; as=fetch, </b>; rel=preload; as=fetch', 'one header; /a is not repeated')
  t.type(array.headers.link, 'string', 'merged into one header line')
  const later = await app.inject('/later')
  t.equal(later.headers.link, '</from-onsend>; rel=alternate, </a>; rel=preload; as=fetch, </b>; rel=preload; as=fetch', 'route onSend hooks declared in the route run first')
})

t.test('the schema Fastify serializes with is the one whose annotations count', async (t) => {
  const { app } = await buildApp()
  const withA = Type.Object({ a: Push(Type.String()), b: Type.String() })
  const withB = Type.Object({ a: Type.String(), b: Push(Type.String()) })
  const plain = Type.Object({ a: Type.String(), b: Type.String() })
  const payload = { a: '/a', b: '/b' }
  app.get('/status/:code', {
    schema: { response: { 200: withA, '2xx': withB, default: withA } }
  }, async (request, reply) => reply.code(Number((request.params as { code: string }).code)).send(payload))
  app.get('/default/:code', {
    schema: { response: { 201: plain, default: withB } }
  }, async (request, reply) => reply.code(Number((request.params as { code: string }).code)).send(payload))
  app.get('/content', {
    schema: {
      response: {
        200: {
          content: {
            'application/ld+json': { schema: withA },
            'application/problem+json': { schema: plain },
            '*/*': { schema: withB }
          }
        }
      }
    }
  }, async (request, reply) => reply.type((request.query as { type: string }).type).send(payload))

  t.equal((await app.inject('/status/200')).headers.link, '</a>; rel=preload; as=fetch', 'exact status')
  t.equal((await app.inject('/status/203')).headers.link, '</b>; rel=preload; as=fetch', '2xx')
  t.equal((await app.inject('/default/202')).headers.link, '</b>; rel=preload; as=fetch', 'default')
  t.equal((await app.inject('/default/201')).headers.link, undefined, 'an exact key without relations shadows default')
  t.equal((await app.inject('/content?type=application/ld%2Bjson; charset=utf-8')).headers.link, '</a>; rel=preload; as=fetch', 'media type, parameters ignored')
  t.equal((await app.inject('/content?type=Application/LD%2BJSON')).headers.link, '</a>; rel=preload; as=fetch', 'media type, case-insensitive')
  t.equal((await app.inject('/content?type=application/problem%2Bjson')).headers.link, undefined, 'a media type without relations')
  t.equal((await app.inject('/content?type=application/json')).headers.link, '</b>; rel=preload; as=fetch', '*/* fallback')
})

t.test('only 2xx responses get links', async (t) => {
  const { app } = await buildApp()
  const Schema = Type.Object({ a: Push(Type.String()) })
  app.get('/:code', { schema: { response: { default: Schema } } },
    async (request, reply) => reply.code(Number((request.params as { code: string }).code)).send({ a: '/a' }))
  t.equal((await app.inject('/200')).headers.link, '</a>; rel=preload; as=fetch')
  t.equal((await app.inject('/201')).headers.link, '</a>; rel=preload; as=fetch')
  t.equal((await app.inject('/299')).headers.link, '</a>; rel=preload; as=fetch')
  for (const code of ['199', '300', '304', '404', '500']) {
    const response = await app.inject(`/${code}`)
    t.equal(response.statusCode, Number(code))
    t.equal(response.headers.link, undefined, code)
  }
})

t.test('HEAD gets the same links as GET', async (t) => {
  const { app } = await buildApp()
  app.get('/books/:id', { schema: { response: { 200: Book } } }, async () => book)
  const get = await app.inject('/books/1')
  const head = await app.inject({ method: 'HEAD', url: '/books/1' })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')
  t.equal(head.headers.link, get.headers.link)
})

t.test('payloads that are not objects pass through untouched', async (t) => {
  const { app } = await buildApp()
  const Schema = Type.Object({ a: Push(Type.String()) })
  const handlers: Record<string, () => unknown> = {
    string: () => '{"a":"/a"}',
    buffer: () => Buffer.from('{"a":"/a"}'),
    stream: () => Readable.from(['{"a":"/a"}']),
    null: () => null
  }
  for (const [name, handler] of Object.entries(handlers)) {
    app.get(`/${name}`, { schema: { response: { 200: Schema } } }, async (_request, reply) => reply.type('application/json').send(handler()))
  }
  for (const name of Object.keys(handlers)) {
    const response = await app.inject(`/${name}`)
    t.equal(response.statusCode, 200, name)
    t.equal(response.headers.link, undefined, name)
  }
})

t.test('routes without annotations read no payload: only the hook that writes reply.preload() links', async (t) => {
  const { app } = await buildApp()
  app.get('/plain', { schema: { response: { 200: Type.Object({ a: Type.String() }) } } }, async () => ({ a: '/a' }))
  app.get('/none', async () => ({ a: '/a' }))
  app.get('/annotated', { schema: { response: { 200: Type.Object({ a: Push(Type.String()) }) } } }, async () => ({ a: '/a' }))
  app.get('/not-2xx', { schema: { response: { 404: Type.Object({ a: Push(Type.String()) }) } } }, async () => ({ a: '/a' }))
  await app.ready()
  const tree = app.printRoutes({ includeHooks: true, commonPrefix: false })
  const sections = tree.split(/\n(?=[├└])/)
  const hooksOf = (url: string): string => sections.find((section) => section.includes(`${url} (GET`)) ?? ''
  t.match(hooksOf('/annotated'), /collectPushRelations\(\)/)
  t.match(hooksOf('/annotated'), /writePushRelations\(\)/)
  for (const url of ['/plain', '/none', '/not-2xx']) {
    t.notMatch(hooksOf(url), /collectPushRelations/, url)
    // reply.preload() works on every route, and the handler may set its own Link after it
    t.match(hooksOf(url), /writePushRelations\(\)/, url)
    t.equal((await app.inject(url)).headers.link, undefined, url)
  }
})

t.test('relative references resolve against the request path; own absolute URLs become paths', async (t) => {
  const { app } = await buildApp({ origins: ['https://cdn.example.com'] })
  const Schema = Type.Object({ links: Push(Type.Array(Type.String())) })
  app.get('/books/:id', { schema: { response: { 200: Schema } } }, async () => ({
    links: [
      'reviews/1',
      '../authors/1',
      './covers/1#fragment',
      'http://api.example.com/publishers/1?x=1',
      'https://cdn.example.com/images/1.png',
      'https://evil.example.com/steal',
      '//evil.example.com/steal',
      'javascript:alert(1)'
    ]
  }))
  const response = await app.inject({ url: '/books/1?page=2', headers: { host: 'api.example.com' } })
  t.equal(response.headers.link, [
    '</books/reviews/1>; rel=preload; as=fetch',
    '</authors/1>; rel=preload; as=fetch',
    '</books/covers/1>; rel=preload; as=fetch',
    '</publishers/1?x=1>; rel=preload; as=fetch',
    '</images/1.png>; rel=preload; as=fetch'
  ].join(', '))
})

t.test('relative references resolve against the path of an absolute-form request target (RFC 9112 section 3.2.2)', async (t) => {
  // Forward proxies send `GET http://host/books/1 HTTP/1.1`; inject() cannot, so a raw socket does.
  const { app } = await buildApp()
  app.get('/books/:id', { schema: { response: { 200: Type.Object({ links: Push(Type.Array(Type.String())) }) } } },
    async () => ({ links: ['reviews/1', '../authors/1', '#top', '?page=3'] }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as AddressInfo
  const expected = [
    '</books/reviews/1>; rel=preload; as=fetch',
    '</authors/1>; rel=preload; as=fetch',
    '</books/1?page=2>; rel=preload; as=fetch',
    '</books/1?page=3>; rel=preload; as=fetch'
  ].join(', ')
  const linkOf = async (target: string): Promise<string | undefined> => {
    const head = await rawGet(port, `GET ${target} HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n`)
    t.match(head, /^HTTP\/1\.1 200 /, target)
    return /^link: (.*)$/im.exec(head)?.[1]
  }
  t.equal(await linkOf('/books/1?page=2'), expected, 'origin form')
  t.equal(await linkOf('http://api.example.com/books/1?page=2'), expected, 'absolute form: the same links')
  t.equal(await linkOf('HTTP://api.example.com:80/books/1?page=2'), expected, 'absolute form with a port, scheme in upper case')
})

/** The response head of a raw HTTP/1.1 request. */
async function rawGet (port: number, request: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request))
    let received = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => { received += chunk })
    socket.on('error', reject)
    socket.on('close', () => { resolve(received.split('\r\n\r\n')[0] as string) })
  })
}

t.test('a fragment-only reference names the request itself, query included (RFC 3986 section 5.2.2)', async (t) => {
  const { app } = await buildApp()
  app.get('/books/:id', { schema: { response: { 200: Type.Object({ self: Push(Type.String()) }) } } }, async () => ({ self: '#top' }))
  t.equal((await app.inject('/books/1?page=2')).headers.link, '</books/1?page=2>; rel=preload; as=fetch')
  t.equal((await app.inject('/books/1')).headers.link, '</books/1>; rel=preload; as=fetch', 'without a query')
})

t.test('the request origin follows trustProxy', async (t) => {
  const { app } = await buildApp({}, { trustProxy: true })
  app.get('/', { schema: { response: { 200: Type.Object({ a: Push(Type.String()) }) } } }, async () => ({ a: 'https://public.example.com/a' }))
  const proxied = await app.inject({ url: '/', headers: { host: 'internal:3000', 'x-forwarded-host': 'public.example.com', 'x-forwarded-proto': 'https' } })
  t.equal(proxied.headers.link, '</a>; rel=preload; as=fetch')
  const direct = await app.inject({ url: '/', headers: { host: 'internal:3000' } })
  t.equal(direct.headers.link, undefined)
})

t.test('maxLinks caps the entries; duplicates do not count; the cap is logged at debug level', async (t) => {
  const { app, logs } = await buildApp({ maxLinks: 3 })
  app.get('/', { schema: { response: { 200: Type.Object({ a: Push(Type.Array(Type.String())) }) } } },
    async () => ({ a: ['/1', '/1', '/2', '/1', '/2', '/3', '/4', '/5'] }))
  t.equal((await app.inject('/')).headers.link, '</1>; rel=preload; as=fetch, </2>; rel=preload; as=fetch, </3>; rel=preload; as=fetch')
  t.match(logs.find((line) => line.msg.includes('not preloaded')), { level: 20, cap: 'maxLinks', links: 3 })
})

t.test('maxLinkBytes caps the bytes the plugin adds, separators included', async (t) => {
  const entry = '</1>; rel=preload; as=fetch' // 27 bytes
  const { app } = await buildApp({ maxLinkBytes: 27 * 2 + 2 })
  app.get('/', { schema: { response: { 200: Type.Object({ a: Push(Type.Array(Type.String())) }) } } },
    async () => ({ a: ['/1', '/2', '/3'] }))
  app.get('/existing', { schema: { response: { 200: Type.Object({ a: Push(Type.Array(Type.String())) }) } } },
    async (_request, reply) => {
      reply.header('link', '</docs>; rel=help')
      return { a: ['/1', '/2', '/3'] }
    })
  const link = (await app.inject('/')).headers.link
  t.equal(link, `${entry}, </2>; rel=preload; as=fetch`)
  t.equal(Buffer.byteLength(link as string), 27 * 2 + 2)
  t.equal((await app.inject('/existing')).headers.link, `</docs>; rel=help, ${entry}`, 'the separator before the first entry counts')
})

t.test('a payload getter that throws while links are read never turns into a 500', async (t) => {
  const { app, logs } = await buildApp()
  app.get('/', { schema: { response: { 200: Type.Object({ a: Push(Type.String()) }) } } }, async () => {
    let reads = 0
    return {
      get a () {
        if (reads++ === 0) throw new Error('first read fails')
        return '/a'
      }
    }
  })
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  t.same(response.json(), { a: '/a' })
  t.equal(response.headers.link, undefined)
  t.match(logs.find((line) => line.level === 40), { msg: /could not read the relations/, err: { message: 'first read fails' } })
})

t.test('the debug log says when values were skipped', async (t) => {
  const { app, logs } = await buildApp()
  app.get('/', { schema: { response: { 200: Type.Object({ a: Push(Type.Array(Type.String())) }) } } },
    async () => ({ a: ['/ok', 'mailto:x@example.com', 'https://other.example/x'] }))
  t.equal((await app.inject('/')).headers.link, '</ok>; rel=preload; as=fetch')
  t.match(logs.find((line) => line.msg.includes('not preloaded')), { level: 20, skipped: 2, cap: null, links: 1, depthLimited: false })
})

t.test('spellings of the same resource are one entry', async (t) => {
  const { app } = await buildApp()
  app.get('/books/:id', { schema: { response: { 200: Type.Object({ links: Push(Type.Array(Type.String())) }) } } }, async () => ({
    links: ['/authors/1', 'http://api.example.com/authors/1', '../authors/1', '/authors/1#bio', '/authors/%31']
  }))
  const response = await app.inject({ url: '/books/1', headers: { host: 'api.example.com' } })
  t.equal(response.headers.link, '</authors/1>; rel=preload; as=fetch, </authors/%31>; rel=preload; as=fetch',
    'what normalizes to the same path is one entry (percent-encoded unreserved characters are kept as written)')
})

t.test('links collected from a payload whose serialization then fails stay out of the 500', async (t) => {
  const { app } = await buildApp()
  app.get('/', { schema: { response: { 200: Type.Object({ a: Push(Type.String()), n: Type.Integer() }) } } },
    async () => ({ a: '/a', n: 'not a number' }))
  const response = await app.inject('/')
  t.equal(response.statusCode, 500)
  t.equal(response.headers.link, undefined)
})
