import t from 'tap'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import pushRelations, { ajvPlugin, FST_PUSH_RELATIONS_ALREADY_REGISTERED, Push } from '../lib/index.js'
import { buildApp } from './helpers/build.js'

const WithAuthor = Type.Object({ author: Push(Type.String()) })

t.test('a bad annotation fails the route registration, naming route, response and pointer', async (t) => {
  const { app } = await buildApp()
  const Bad = Type.Object({ member: Type.Array(Type.Object({ available: Push(Type.Boolean()) })) })
  t.throws(() => app.get('/books', { schema: { response: { '2XX': Bad } } }, async () => ({ member: [] })), {
    code: 'FST_PUSH_RELATIONS_INVALID_ANNOTATION',
    message: 'fastify-push-relations: invalid x-push annotation in GET /books, response 2xx, at JSON pointer "/member/*/available": a boolean cannot hold a link'
  })
})

t.test('a bad annotation inside a plugin rejects ready()', async (t) => {
  const app = Fastify()
  await app.register(pushRelations)
  app.register(async (child) => {
    child.get('/x', { schema: { response: { 200: { content: { 'application/ld+json': { schema: Type.Object({ n: Push(Type.Integer()) }) } } } } } }, async () => ({}))
  }, { prefix: '/api' })
  await t.rejects(async () => { await app.ready() }, {
    code: 'FST_PUSH_RELATIONS_INVALID_ANNOTATION',
    message: /in GET \/api\/x, response 200 application\/ld\+json, at JSON pointer "\/n": a number cannot be a link by itself/
  })
})

t.test('routes in encapsulated contexts and under prefixes are compiled', async (t) => {
  const { app } = await buildApp()
  await app.register(async (child) => {
    child.get('/books/:id', { schema: { response: { 200: WithAuthor } } }, async () => ({ author: '/authors/1' }))
    await child.register(async (grandchild) => {
      grandchild.get('/deep', { schema: { response: { 200: WithAuthor } } }, async () => ({ author: 'authors/2' }))
    }, { prefix: '/nested' })
  }, { prefix: '/v1' })
  t.equal((await app.inject('/v1/books/1')).headers.link, '</authors/1>; rel=preload; as=fetch')
  t.equal((await app.inject('/v1/nested/deep')).headers.link, '</v1/nested/authors/2>; rel=preload; as=fetch')
})

t.test('$ref to shared schemas resolves in the route\'s own encapsulation context', async (t) => {
  const { app } = await buildApp()
  app.addSchema({ $id: 'Author', type: 'object', properties: { '@id': { type: 'string' }, name: { type: 'string' } } })
  app.register(async (child) => {
    // Same $id, different schema: only visible in this context.
    child.addSchema({ $id: 'Book', type: 'object', properties: { author: { type: 'string', 'x-push': true } } })
    child.get('/child', { schema: { response: { 200: Type.Ref('Book') } } }, async () => ({ author: '/authors/child' }))
  })
  app.register(async (child) => {
    child.addSchema({ $id: 'Book', type: 'object', properties: { author: { type: 'string' }, cover: { type: 'string', 'x-push': { as: 'image' } } } })
    child.get('/sibling', { schema: { response: { 200: { $ref: 'Book#' } } } }, async () => ({ author: '/authors/sibling', cover: '/covers/1' }))
  })
  app.get('/embedded', {
    schema: { response: { 200: Type.Object({ author: Push(Type.Ref('Author')) }) } }
  }, async () => ({ author: { '@id': '/authors/1', name: 'George' } }))
  t.equal((await app.inject('/child')).headers.link, '</authors/child>; rel=preload; as=fetch')
  t.equal((await app.inject('/sibling')).headers.link, '</covers/1>; rel=preload; as=image')
  t.equal((await app.inject('/embedded')).headers.link, '</authors/1>; rel=preload; as=fetch')
})

t.test('a shared schema added after the route is resolved at ready()', async (t) => {
  const { app } = await buildApp()
  app.get('/late', { schema: { response: { 200: Type.Ref('Late') } } }, async () => ({ author: '/authors/late' }))
  app.get('/late-plain', { schema: { response: { 200: Type.Ref('LatePlain') } } }, async () => ({ author: '/authors/late' }))
  app.addSchema({ $id: 'Late', type: 'object', properties: { author: { type: 'string', 'x-push': true } } })
  app.addSchema({ $id: 'LatePlain', type: 'object', properties: { author: { type: 'string' } } })
  t.equal((await app.inject('/late')).headers.link, '</authors/late>; rel=preload; as=fetch')
  t.equal((await app.inject('/late-plain')).headers.link, undefined)
  t.same(app.pushRelations.routes().map((route) => `${String(route.method)} ${route.url}`), ['GET /late', 'HEAD /late'])
})

t.test('a bad annotation in a late shared schema rejects ready()', async (t) => {
  const { app } = await buildApp()
  app.get('/late', { schema: { response: { 200: Type.Ref('Late') } } }, async () => ({}))
  app.addSchema({ $id: 'Late', type: 'object', properties: { flag: { type: 'boolean', 'x-push': true } } })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_PUSH_RELATIONS_INVALID_ANNOTATION', message: /GET \/late, response 200, at JSON pointer "\/flag"/ })
})

t.test('routes registered before the plugin are named in a warning, with the fix', async (t) => {
  const lines: string[] = []
  const stream = { write: (line: string) => { lines.push(line) } }
  const app = Fastify({ logger: { level: 'warn', stream } })
  app.get('/early', { schema: { response: { 200: WithAuthor } } }, async () => ({ author: '/a' }))
  await app.register(pushRelations)
  app.get('/late', { schema: { response: { 200: WithAuthor } } }, async () => ({ author: '/a' }))
  await app.ready()
  t.equal(lines.length, 1)
  const warning = JSON.parse(lines[0] as string) as { level: number, msg: string }
  t.equal(warning.level, 40)
  t.match(warning.msg, /registered after these routes and cannot see their x-push annotations/)
  t.match(warning.msg, /await fastify\.register\(pushRelations\)/)
  t.match(warning.msg, /\/early \(GET\)/)
  t.match(warning.msg, /Only routes with x-push in a response schema \(or that should answer Vulcain requests\) lose something, the others \(documentation UIs, health checks\.\.\.\) are unaffected/,
    'routes without relations (Fastify does not say which) are declared harmless')
  t.notMatch(warning.msg, /\/late/)
  t.equal((await app.inject('/early')).headers.link, undefined, 'the early route is indeed not compiled')
  t.equal((await app.inject('/late')).headers.link, '</a>; rel=preload; as=fetch')
})

t.test('a route declared right after register() without await is caught by the warning too', async (t) => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  app.register(pushRelations)
  app.get('/sync', { schema: { response: { 200: WithAuthor } } }, async () => ({ author: '/a' }))
  await app.ready()
  t.match(lines.join(''), /\/sync \(GET\)/)
})

t.test('no warning when the plugin comes first', async (t) => {
  const { app, logs } = await buildApp()
  app.get('/', { schema: { response: { 200: WithAuthor } } }, async () => ({ author: '/a' }))
  await app.ready()
  t.same(logs.filter((line) => line.level >= 40), [])
})

t.test('fastify.pushRelations.routes() lists annotated routes and their pointers; one debug line per route', async (t) => {
  const { app, logs } = await buildApp()
  const Tree = Type.Recursive((This) => Type.Object({ parent: Push(Type.String()), children: Type.Array(This) }))
  app.get('/books', {
    schema: { response: { 200: Type.Object({ member: Type.Array(WithAuthor) }), '2xx': Tree } }
  }, async () => ({ member: [] }))
  app.post('/books', { schema: { response: { 201: { content: { 'application/ld+json': { schema: WithAuthor } } } } } }, async () => ({}))
  app.get('/plain', { schema: { response: { 200: Type.Object({ a: Type.String() }) } } }, async () => ({ a: 'x' }))
  await app.ready()
  t.same(app.pushRelations.routes(), [
    { method: 'GET', url: '/books', responses: [{ status: '200', pointers: ['/member/*/author'] }, { status: '2xx', pointers: ['/parent', '/children/*/**'] }] },
    { method: 'HEAD', url: '/books', responses: [{ status: '200', pointers: ['/member/*/author'] }, { status: '2xx', pointers: ['/parent', '/children/*/**'] }] },
    { method: 'POST', url: '/books', responses: [{ status: '201', mediaType: 'application/ld+json', pointers: ['/author'] }] }
  ])
  const compiled = logs.filter((line) => line.msg === 'fastify-push-relations: relations compiled')
  t.same(compiled.map((line) => line.route), ['GET /books', 'HEAD /books', 'POST /books'])
  t.equal(compiled[0]?.level, 20)
  const first = app.pushRelations.routes()[0] as unknown as { responses: unknown[] }
  first.responses = []
  t.equal(app.pushRelations.routes()[0]?.responses.length, 2, 'the list is a copy')
})

t.test('a route with several methods is named with all of them', async (t) => {
  const { app } = await buildApp()
  t.throws(() => app.route({
    method: ['PUT', 'PATCH'],
    url: '/x',
    schema: { response: { 200: Type.Object({ n: Push(Type.Integer()) }) } },
    handler: async () => ({})
  }), { message: /in PUT,PATCH \/x,/ })
})

t.test('schemas with x-push used for validation need the exported ajvPlugin', async (t) => {
  t.test('without it, Ajv strict mode rejects the keyword', async (t) => {
    const app = Fastify()
    await app.register(pushRelations)
    app.post('/books', { schema: { body: WithAuthor, response: { 201: WithAuthor } } }, async () => ({ author: '/a' }))
    await t.rejects(async () => { await app.ready() }, /unknown keyword: "x-push"/)
  })
  t.test('with it, the body validates and the response is linked', async (t) => {
    const app = Fastify({ ajv: { plugins: [ajvPlugin, ajvPlugin] } })
    await app.register(pushRelations)
    app.post('/books', { schema: { body: WithAuthor, response: { 201: WithAuthor } } },
      async (request, reply) => reply.code(201).send(request.body))
    const created = await app.inject({ method: 'POST', url: '/books', payload: { author: '/authors/1' } })
    t.equal(created.statusCode, 201)
    t.equal(created.headers.link, '</authors/1>; rel=preload; as=fetch')
    const invalid = await app.inject({ method: 'POST', url: '/books', payload: {} })
    t.equal(invalid.statusCode, 400, 'validation still applies')
  })
})

t.test('earlier routes without a payload (a CORS preflight) do not warn; each method is listed', async (t) => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  app.options('*', async () => '')
  await app.register(pushRelations)
  await app.ready()
  t.same(lines, [], 'an OPTIONS route alone')

  const other = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  other.post('/books', async () => ({}))
  other.delete('/books/:id', async () => ({}))
  await other.register(pushRelations)
  await other.ready()
  t.match(lines.join(''), /\/books \(POST\)[\s\S]*\/books\/:id \(DELETE\)/)
})

t.test('registering the plugin twice rejects register() and ready() with a clear error, never an uncaught exception', async (t) => {
  const uncaught: Error[] = []
  const onUncaught = (error: Error): void => { uncaught.push(error) }
  process.on('uncaughtException', onUncaught)
  t.teardown(() => { process.off('uncaughtException', onUncaught) })
  const expected = {
    code: 'FST_PUSH_RELATIONS_ALREADY_REGISTERED',
    message: 'fastify-push-relations is already registered in this context or a parent one; register it once, at the root, before the routes'
  }

  const twice = Fastify()
  twice.register(pushRelations)
  twice.register(pushRelations)
  await t.rejects(async () => { await twice.ready() }, expected, 'same context')

  const awaited = Fastify()
  await awaited.register(pushRelations)
  await t.rejects(async () => { await awaited.register(pushRelations) }, expected, 'awaited register()')

  const child = Fastify()
  await child.register(pushRelations)
  child.register(async (scope) => { await scope.register(pushRelations, { push: true }) })
  await t.rejects(async () => { await child.ready() }, expected, 'again in a child context')
  t.same(uncaught, [])
  t.equal(new FST_PUSH_RELATIONS_ALREADY_REGISTERED().code, 'FST_PUSH_RELATIONS_ALREADY_REGISTERED', 'exported for checks')
})

t.test('another plugin\'s reply.preload decorator rejects register(), not the process', async (t) => {
  const app = Fastify()
  app.decorateReply('preload', null as never)
  await t.rejects(async () => { await app.register(pushRelations) }, { code: 'FST_ERR_DEC_ALREADY_PRESENT' })
})

t.test('routes() lists every route that gets links under a prefix, one entry per method and URL as printRoutes() shows them', async (t) => {
  const { app } = await buildApp()
  await app.register(async (v1) => {
    v1.get('/', { schema: { response: { 200: WithAuthor } } }, async () => ({ author: '/authors/1' }))
    v1.get('/:id', { schema: { response: { 200: WithAuthor } } }, async () => ({ author: '/authors/1' }))
    v1.route({ method: ['PUT', 'PATCH'], url: '/:id', schema: { response: { 200: WithAuthor } }, handler: async () => ({ author: '/authors/1' }) })
  }, { prefix: '/v1/books' })
  await app.ready()
  const listed = app.pushRelations.routes().map((route) => `${String(route.method)} ${route.url}`)
  t.same(listed, [
    'GET /v1/books', 'GET /v1/books/', 'HEAD /v1/books', 'HEAD /v1/books/',
    'GET /v1/books/:id', 'HEAD /v1/books/:id', 'PUT /v1/books/:id', 'PATCH /v1/books/:id'
  ])
  for (const entry of listed) {
    const [method, url] = entry.split(' ') as [string, string]
    const response = await app.inject({ method: method as 'GET', url: url.replace(':id', '1') })
    t.equal(response.headers.link, '</authors/1>; rel=preload; as=fetch', `${entry} sends links`)
  }
  const printed = app.printRoutes({ commonPrefix: false })
  t.match(printed, /\/v1\/books \(GET, HEAD\)\n.*\/ \(GET, HEAD\)/, 'the same routes printRoutes() shows')

  const { app: slashless } = await buildApp({}, { routerOptions: { ignoreTrailingSlash: true } })
  await slashless.register(async (v1) => {
    v1.get('/', { schema: { response: { 200: WithAuthor } } }, async () => ({ author: '/authors/1' }))
  }, { prefix: '/v1/books' })
  await slashless.ready()
  t.same(slashless.pushRelations.routes().map((route) => `${String(route.method)} ${route.url}`), ['GET /v1/books', 'HEAD /v1/books'],
    'one route serves both spellings: one entry')
})
