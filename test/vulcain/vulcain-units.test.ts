import t from 'tap'
import { Type } from '@sinclair/typebox'
import { Push } from '../../lib/index.js'
import { resolveOptions } from '../../lib/options.js'
import { FieldTree, withoutRequired } from '../../lib/vulcain/fields.js'
import { queryDirectives } from '../../lib/vulcain/vulcain.js'
import { responseSchemas } from '../../lib/vulcain/vulcain-route.js'
import { CursorSet, walkDocument } from '../../lib/vulcain/relations.js'
import { encodeQueryValue, parseSelectors, Remainders, serializeSelectors, WILDCARD } from '../../lib/vulcain/selectors.js'
import { buildApp } from '../helpers/build.js'

const limits = { maxSelectors: 32, maxDepth: 16, maxBytes: 4096 }
const selectFields = (document: unknown, tree: FieldTree): unknown => walkDocument(document, null, CursorSet.of([]), tree, {
  iriKey: '@id', plainStrings: true, onRelation: () => null, exhausted: () => false
})
const entry = (path: string, suffix = ''): string => `<${path}>; rel=preload; as=fetch${suffix}`

t.test('selectors: tokens, escapes, parameters, and back', async (t) => {
  const parsed = parseSelectors('"/member/*/author", "/a~1b/~0c/~2", ""; rel=author', limits)
  t.same(parsed, [
    { tokens: ['member', WILDCARD, 'author'], parameters: new Map() },
    { tokens: ['a/b', '~c', '*'], parameters: new Map() },
    { tokens: [], parameters: parsed instanceof Array ? parsed[2]?.parameters : undefined }
  ])
  t.equal(serializeSelectors(parsed as never), '"/member/*/author", "/a~1b/~0c/~2", "";rel=author', 'escapes are written back')
  t.equal(encodeQueryValue('"/member/*"'), '%22%2Fmember%2F%2A%22', 'the draft writes * as %2A')
  t.same(parseSelectors('', limits), [], 'an empty header is an empty list')
})

t.test('remainders merge over every way to reach a resource', async (t) => {
  const remainders = new Remainders()
  t.same(remainders.headers(), {})
  remainders.add([{ tokens: ['a'], parameters: new Map() }], [{ tokens: ['x'], parameters: new Map() }])
  remainders.add([{ tokens: ['a'], parameters: new Map() }, { tokens: ['b'], parameters: new Map() }], [{ tokens: ['y'], parameters: new Map() }])
  t.same(remainders.headers(), { preload: '"/a", "/b"', fields: '"/x", "/y"' })
  remainders.add([], null)
  t.same(remainders.headers(), { preload: '"/a", "/b"' }, 'once a way wants every field, no Fields')
  remainders.add([], [{ tokens: ['z'], parameters: new Map() }])
  t.same(remainders.headers(), { preload: '"/a", "/b"' })
})

t.test('field trees merge a name with * at every level', async (t) => {
  const tree = FieldTree.of(parseSelectors('"/m/*/*/x", "/m/k/*/y", "/m/*/n/p", "/m/k/n/q"', limits) as never)
  const document = { m: { k: { n: { p: 1, q: 2, x: 3, y: 4, z: 5 }, o: { x: 6, y: 7, z: 8 } }, j: { n: { p: 9, q: 10, x: 11 } } } }
  t.same(JSON.parse(JSON.stringify(selectFields(document, tree))), {
    m: { k: { n: { p: 1, q: 2, x: 3, y: 4 }, o: { x: 6, y: 7 } }, j: { n: { p: 9, x: 11 } } }
  })
  t.same(tree.child('m')?.child('k')?.remainders(), tree.child('m')?.child('k')?.remainders(), 'merged trees are remembered')
  const protoDocument = JSON.parse('{"__proto__": {"a": 1}, "b": 2}') as unknown
  const kept = selectFields(protoDocument, FieldTree.of(parseSelectors('"/__proto__"', limits) as never)) as Record<string, unknown>
  t.same(Object.keys(kept), ['__proto__'], 'a "__proto__" member stays a member')
  t.equal(JSON.stringify(selectFields({ a: 1 }, FieldTree.of(parseSelectors('"/__proto__", "/constructor", "/toString"', limits) as never))), '{}', 'Object.prototype is nobody\'s field')
})

t.test('Preload follows tuples and patternProperties through the schema, templates included', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  const Schema = Type.Object({
    pair: Type.Tuple([Type.Integer({ 'x-push': '/authors/{id}' }), Type.String()]),
    list: Type.Array(Type.Integer({ 'x-push': '/reviews/{id}' })),
    map: Type.Object({}, { patternProperties: { '^ed-': Type.Integer({ 'x-push': '/editors/{id}' }) }, additionalProperties: Type.String() }),
    publisher: Push(Type.Object({ '@id': Type.String(), name: Type.String() }), { nopush: true }),
    missing: Type.Optional(Push(Type.Object({ '@id': Type.Optional(Type.String()) }), { nopush: true })),
    count: Type.Integer()
  })
  app.get('/doc', { schema: { response: { 200: Schema } } }, async () => ({
    pair: [7, '/plain'],
    list: [1, 2],
    map: { 'ed-1': 3, other: '/others/1' },
    publisher: { '@id': '/publishers/1', name: 'P' },
    missing: {},
    count: 12
  }))
  const link = async (preload: string): Promise<unknown> => (await app.inject({ url: '/doc', headers: { preload } })).headers.link
  const xpush = [entry('/authors/7'), entry('/reviews/1'), entry('/reviews/2'), entry('/editors/3'), entry('/publishers/1', '; nopush')]
  t.equal(await link('"/pair/1"'), [entry('/plain'), ...xpush].join(', '), 'a tuple member without annotation: a plain string')
  t.equal(await link('"/map/other"'), [entry('/others/1'), ...xpush].join(', '), 'additionalProperties')
  t.equal(await link('"/count", "/missing"'), xpush.join(', '), 'a number without template and an object without IRI are no relations')
  t.equal(await link('"/publisher", "/publisher/name"'), [entry('/publishers/1', '; nopush'), ...xpush.slice(0, 4)].join(', '),
    'an embedded relation: its IRI once; the selector goes on inside it, where the name is no link')
})

t.test('the same relation selected twice is one link, with both remainders', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/doc', async () => ({ a: '/same', b: '/same' }))
  const response = await app.inject({ url: '/doc', headers: { preload: '"/a", "/b", "/a/x", "/b/y"' } })
  t.equal(response.headers.link, entry('/same'))
})

t.test('Vary set as a list is merged too', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/', async (_request, reply) => reply.header('vary', ['Accept', 'Origin']).send({ a: 1 }))
  app.get('/empty', async (_request, reply) => reply.header('vary', '').send({ a: 1 }))
  t.equal((await app.inject('/')).headers.vary, 'Accept, Origin, Preload, Fields')
  t.equal((await app.inject('/empty')).headers.vary, 'Preload, Fields')
})

t.test('Fields on a content map whose media types do not match: serialized as Fastify does, with JSON.stringify', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/', {
    schema: { response: { 200: { content: { 'application/ld+json': { schema: Type.Object({ a: Type.String() }) } } } } }
  }, async () => ({ a: 'x', b: 'y' }))
  const response = await app.inject({ url: '/', headers: { fields: '"/b"' } })
  t.same(response.json(), { b: 'y' }, 'no schema applies to application/json here, so b is part of the response')
})

t.test('vulcain options are validated', async (t) => {
  t.throws(() => resolveOptions({ vulcain: { maxSelector: 3 } as never }), {
    code: 'FST_PUSH_RELATIONS_INVALID_OPTION',
    message: 'fastify-push-relations: option "vulcain.maxSelector" is not a known option (known: maxSelectors, maxSelectorDepth, maxDirectiveBytes, query, relations)'
  })
  t.throws(() => resolveOptions({ vulcain: 'yes' as never }), { message: /option "vulcain" must be a boolean or an object of limits, received "yes"/ })
  t.throws(() => resolveOptions({ vulcain: { maxSelectors: 0 } }), { message: /option "vulcain.maxSelectors" must be an integer >= 1/ })
  t.throws(() => resolveOptions({ vulcain: { query: 1 as never } }), { message: /option "vulcain.query" must be a boolean/ })
  t.equal(resolveOptions({ vulcain: false }).vulcain, null)
  t.same(resolveOptions({ vulcain: true }).vulcain, { maxSelectors: 32, maxDepth: 16, maxBytes: 4096, query: true, relations: 'any' })
})

t.test('a selected string that does not look like a link is not one', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/doc', async () => ({ title: 'George Orwell', relative: './authors/1', parent: '../books', absolute: 'HTTP://API.example.com/x', word: 'authors/1' }))
  const link = (await app.inject({ url: '/doc', headers: { host: 'api.example.com', preload: '"/title", "/relative", "/parent", "/absolute", "/word"' } })).headers.link
  t.equal(link, [entry('/authors/1'), entry('/books'), entry('/x')].join(', '), 'paths, ./ and ../ references, absolute http(s) URLs')
})

t.test('more ways through arrays and objects', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  const Schema = {
    type: 'object',
    properties: {
      tuple: { type: 'array', prefixItems: [{ type: 'integer', 'x-push': '/first/{id}' }], items: { type: 'integer', 'x-push': '/rest/{id}' } },
      list: { type: 'array', items: { type: 'integer', 'x-push': '/items/{id}' } },
      patterned: { type: 'object', patternProperties: { '^x-': { type: 'integer', 'x-push': '/x/{id}' } } }
    }
  }
  app.get('/doc', { schema: { response: { 200: Schema } } }, async () => ({ tuple: [1, 2, 3], list: [4, 5], patterned: { 'x-a': 6, plain: '/plain' } }))
  const xpush = ['/first/1', '/rest/2', '/rest/3', '/items/4', '/items/5', '/x/6'].map((path) => entry(path))
  const link = async (preload: string): Promise<unknown> => (await app.inject({ url: '/doc', headers: { preload } })).headers.link
  t.equal(await link('"/tuple/2"'), [entry('/rest/3'), ...xpush.filter((value) => value !== entry('/rest/3'))].join(', '), 'past the tuple: the rest schema')
  t.equal(await link('"/list/1"'), [entry('/items/5'), ...xpush.filter((value) => value !== entry('/items/5'))].join(', '), 'a list')
  t.equal(await link('"/patterned/plain"'), [entry('/plain'), ...xpush].join(', '), 'a name no pattern matches, no additionalProperties: a plain string')
})

t.test('a path preloaded by the handler, then selected, is pushed with its remainders', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/doc', async (_request, reply) => {
    reply.preload('/authors/1')
    return { author: '/authors/1' }
  })
  const response = await app.inject({ url: '/doc', headers: { preload: '"/author/books"' } })
  t.equal(response.headers.link, entry('/authors/1'))
})

t.test('Fields alone over a relation in the header form preloads nothing', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/doc', async () => ({ author: '/authors/1', title: 'x' }))
  const response = await app.inject({ url: '/doc', headers: { fields: '"/author/name"' } })
  t.same(response.json(), { author: '/authors/1' })
  t.equal(response.headers.link, undefined)
})

t.test('a name selected next to a * that selects deeper', async (t) => {
  const tree = FieldTree.of(parseSelectors('"/m/k/*/x", "/m/*/n/y"', limits) as never)
  const document = { m: { k: { n: { x: 1, y: 2, z: 3 }, o: { x: 4, y: 5 } }, j: { n: { x: 6, y: 7 } } } }
  t.same(JSON.parse(JSON.stringify(selectFields(document, tree))), { m: { k: { n: { x: 1, y: 2 }, o: { x: 4 } }, j: { n: { y: 7 } } } })
})

t.test('a JSON route answering another format with its own serializer is left alone', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  app.get('/doc', async (_request, reply) => reply.type('application/xml').serializer((value: { title: string }) => `<book><title>${value.title}</title></book>`).send({ title: '1984', author: '/authors/1' }))
  const response = await app.inject({ url: '/doc', headers: { fields: '"/author"', preload: '"/author"' } })
  t.equal(response.body, '<book><title>1984</title></book>')
  t.equal(response.headers.link, undefined)
})

t.test('declared properties next to additionalProperties', async (t) => {
  const { app } = await buildApp({ vulcain: true })
  const Schema = { type: 'object', properties: { main: { type: 'string', 'x-push': true }, name: { type: 'string' } }, additionalProperties: { type: 'integer', 'x-push': '/numbers/{n}' } }
  app.get('/doc', { schema: { response: { 200: Schema } } }, async () => ({ main: '/main', name: '/not-annotated', seven: 7 }))
  const link = (await app.inject({ url: '/doc', headers: { preload: '"/name", "/seven", "/main"' } })).headers.link
  t.equal(link, [entry('/main'), entry('/not-annotated'), entry('/numbers/7')].join(', '), 'in document order; a declared name is never read as an additional property')
})

t.test('the schema Fields responses are serialized with: required dropped everywhere, shared schemas bundled under new ids', async (t) => {
  const shared: Record<string, unknown> = {
    Writer: { $id: 'Writer', type: 'object', properties: { name: { type: 'string' }, friend: { $ref: 'Writer#' } }, required: ['name'] }
  }
  const schema = {
    $id: 'T0',
    type: 'object',
    required: ['a'],
    definitions: { local: { type: 'object', required: ['x'] } },
    properties: {
      a: { type: 'array', items: { type: 'object', required: ['b'], properties: { required: { type: 'string' } } } },
      tuple: { type: 'array', items: [{ type: 'object', required: ['c'] }] },
      writer: { $ref: 'Writer' },
      again: { $ref: 'Writer#/properties/name' },
      local: { $ref: '#/definitions/local' },
      self: { $ref: 'T0' },
      odd: { $ref: 42 },
      properties: 'not a schema map'
    },
    additionalProperties: { required: ['z'] }
  }
  t.same(withoutRequired(schema, (id) => shared[id]), {
    $id: 'T0',
    type: 'object',
    definitions: {
      local: { type: 'object' },
      'fastify-push-relations-fields:Writer': {
        $id: 'fastify-push-relations-fields:Writer',
        type: 'object',
        properties: { name: { type: 'string' }, friend: { $ref: 'fastify-push-relations-fields:Writer#' } }
      }
    },
    properties: {
      a: { type: 'array', items: { type: 'object', properties: { required: { type: 'string' } } } },
      tuple: { type: 'array', items: [{ type: 'object' }] },
      writer: { $ref: 'fastify-push-relations-fields:Writer' },
      again: { $ref: 'fastify-push-relations-fields:Writer#/properties/name' },
      local: { $ref: '#/definitions/local' },
      self: { $ref: 'T0' },
      odd: { $ref: 42 },
      properties: 'not a schema map'
    },
    additionalProperties: {}
  }, 'a property named "required" stays')
  t.same(withoutRequired({ $ref: 'Writer' }, (id) => shared[id]), {
    $ref: 'fastify-push-relations-fields:Writer',
    definitions: {
      'fastify-push-relations-fields:Writer': {
        $id: 'fastify-push-relations-fields:Writer',
        type: 'object',
        properties: { name: { type: 'string' }, friend: { $ref: 'fastify-push-relations-fields:Writer#' } }
      }
    }
  })
  t.equal(withoutRequired(true, () => undefined), true, 'a boolean schema')
})

t.test('the query directives are read from the URL as sent', async (t) => {
  t.equal(queryDirectives('/books'), null)
  t.equal(queryDirectives('/books?page=2'), null)
  t.same(queryDirectives('/books?fields=%22%2Fa%22&page=2&fields=%22%2Fb%22#frag'), { preload: null, fields: ['"/a"', '"/b"'] })
  t.same(queryDirectives('/books?preload=%22%2Fa%22;+rel%3Dx&preload=%ZZ'), { preload: ['"/a"; rel=x', '\u0000'], fields: null }, '+ is a space; a bad escape is invalid')
  t.same(queryDirectives('/books?xpreload=1&fields=%22%2Fa%22'), { preload: null, fields: ['"/a"'] })
})

t.test('the response schemas by key and media type', async (t) => {
  const book = { type: 'object' }
  t.same([...responseSchemas(undefined)], [])
  t.same([...responseSchemas({ 200: book, 404: book, '2XX': { content: { 'application/json': { schema: book }, 'text/plain': {}, 'a/b': null } }, default: 'no' })],
    [['200', book], ['2xx application/json', book]])
})

t.test('the walk: rewrites copy the members before them; an exhausted budget leaves the rest alone', async (t) => {
  const walk = (document: unknown, exhausted: boolean): unknown => walkDocument(document, null, CursorSet.of(parseSelectors('"/b/x", "/c/y"', limits) as never), null, {
    iriKey: '@id', plainStrings: true, onRelation: (relation) => relation.reference + '?rewritten', exhausted: () => exhausted
  })
  const document = { a: 1, b: '/b', c: ['/c'] }
  t.same(walk(document, false), { a: 1, b: '/b?rewritten', c: ['/c'] })
  t.equal(walk(document, true), document, 'nothing changes, nothing is copied')
  const withProto = JSON.parse('{"a": 1, "__proto__": "/p", "b": "/b"}') as unknown
  const rewritten = walk(withProto, false) as Record<string, unknown>
  t.same(Object.keys(rewritten), ['a', '__proto__', 'b'])
  t.equal(Object.getPrototypeOf(rewritten), Object.prototype, 'a "__proto__" member is a member')
})

t.test('parsed directives are remembered, up to a bound', async (t) => {
  const { app } = await buildApp({ vulcain: true }, { logger: false })
  app.get('/doc', async () => ({ a: '/a' }))
  let preloaded = 0
  for (let i = 0; i < 260; i++) {
    const response = await app.inject({ url: '/doc', headers: { preload: `"/a", "/x${i}"`, fields: `"/a", "/y${i}"` } })
    if (response.headers.link === entry('/a')) preloaded++
  }
  t.equal(preloaded, 260, 'past the bound, the caches start over')
  t.equal((await app.inject({ url: '/doc', headers: { preload: `"/a", "/${'z'.repeat(600)}"` } })).headers.link, entry('/a'), 'a long value is parsed each time')
})
