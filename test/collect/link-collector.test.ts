// The run-time walk: links collected from payloads along plans compiled from real schemas, read
// as fast-json-stringify reads them (toJSON results, declared names, then the first matching
// pattern or additionalProperties), what bounds it (MAX_DEPTH, cyclic data, the LinkSet caps),
// and referenceOf value by value.
import t from 'tap'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import pushRelations from '../../lib/index.js'
import { compileResponseSchema, planPointers } from '../../lib/compile/schema-compiler.js'
import { collectLinks, MAX_DEPTH, referenceOf } from '../../lib/collect/link-collector.js'
import { LinkSet } from '../../lib/links/link-set.js'
import { resolveOptions, type PushRelationsOptions } from '../../lib/options.js'
import { parseUriTemplate, type UriTemplate } from '../../lib/links/uri/uri-template.js'
import { Push } from '../../lib/annotation/push.js'
import type { PlanNode } from '../../lib/plan/plan-node.js'

const fakeRequest = { url: '/books/1', protocol: 'http', host: 'api.example.com' } as unknown as FastifyRequest
const roomy: PushRelationsOptions = { maxLinks: 10_000, maxLinkBytes: 1_000_000 }

function planOf (schema: unknown, options: PushRelationsOptions = {}): PlanNode {
  const { plan } = compileResponseSchema(schema, () => undefined, resolveOptions(options), { route: 'GET /x', response: '200' },
    (_site, pointer, problem) => new Error(`${pointer}: ${problem}`))
  if (plan === null) throw new Error('expected a plan')
  return plan
}

function run (schema: unknown, payload: unknown, options: PushRelationsOptions = {}): { set: LinkSet, complete: boolean } {
  const resolved = resolveOptions(options)
  const set = new LinkSet(resolved, fakeRequest)
  const complete = collectLinks(planOf(schema, options), payload, set, resolved.iriKey)
  return { set, complete }
}

/** The collected paths, and whether the walk was complete. */
function walk (schema: unknown, payload: unknown, options: PushRelationsOptions = {}): { paths: string[], complete: boolean } {
  const { set, complete } = run(schema, payload, options)
  return { paths: set.paths, complete }
}

function paths (schema: unknown, payload: unknown, options: PushRelationsOptions = {}): string[] {
  return run(schema, payload, options).set.paths
}

function template (source: string): UriTemplate {
  const parsed = parseUriTemplate(source)
  if (typeof parsed === 'string') throw new Error(`not a template: ${parsed}`)
  return parsed
}

const Iri = Type.String({ 'x-push': true })

t.test('MAX_DEPTH is 64 pointer tokens', async (t) => {
  t.equal(MAX_DEPTH, 64)
})

t.test('a recursive schema is followed as deep as the data goes, up to MAX_DEPTH', async (t) => {
  const Chain = Type.Recursive((This) => Type.Object({ href: Iri, next: Type.Optional(This) }))
  t.same(planPointers(planOf(Chain)), ['/href', '/next/**'])
  const chain = (length: number): unknown => {
    let node: Record<string, unknown> | undefined
    for (let i = length - 1; i >= 0; i--) node = node === undefined ? { href: `/n/${i}` } : { href: `/n/${i}`, next: node }
    return node
  }
  const expected = (count: number): string[] => Array.from({ length: count }, (_, i) => `/n/${i}`)

  t.test('a short chain', async (t) => {
    t.same(walk(Chain, chain(3)), { paths: ['/n/0', '/n/1', '/n/2'], complete: true })
  })

  t.test('64 levels: the deepest link is at pointer depth 64, and the walk is complete', async (t) => {
    const { set, complete } = run(Chain, chain(MAX_DEPTH), roomy)
    t.same(set.paths, expected(MAX_DEPTH))
    t.equal(complete, true)
  })

  t.test('65 levels: the 65th link is beyond MAX_DEPTH, collectLinks returns false', async (t) => {
    const { set, complete } = run(Chain, chain(MAX_DEPTH + 1), roomy)
    t.same(set.paths, expected(MAX_DEPTH))
    t.equal(complete, false)
  })

  t.test('10,000 levels do not overflow the stack', async (t) => {
    const { set, complete } = run(Chain, chain(10_000), roomy)
    t.equal(set.paths.length, MAX_DEPTH)
    t.equal(complete, false)
  })

  t.test('a cyclic JavaScript payload terminates', async (t) => {
    const a: Record<string, unknown> = { href: '/a' }
    const b: Record<string, unknown> = { href: '/b', next: a }
    a['next'] = b
    const { set, complete } = run(Chain, a, roomy)
    t.same(set.paths, ['/a', '/b'])
    t.equal(complete, false)
  })

  t.test('a cut in one branch does not hide the others', async (t) => {
    const Tree = Type.Recursive((This) => Type.Object({ id: Iri, children: Type.Array(This) }))
    const deep: Record<string, unknown> = { id: '/deep', children: [] }
    deep['children'] = [deep]
    const { set, complete } = run(Tree, { id: '/root', children: [deep, { id: '/shallow', children: [] }] }, roomy)
    t.same(set.paths, ['/root', '/deep', '/shallow'])
    t.equal(complete, false)
  })
})

t.test('nested arrays count as levels too', async (t) => {
  const Nested = Type.Recursive((This) => Type.Array(Type.Union([Iri, This])))
  t.same(planPointers(planOf(Nested)), ['/*', '/*/*/**'])
  t.same(walk(Nested, ['/a', ['/b', ['/c']]]), { paths: ['/a', '/b', '/c'], complete: true })
  const wrapped = (levels: number): unknown => {
    let deep: unknown = ['/bottom']
    for (let i = 0; i < levels; i++) deep = [deep]
    return deep
  }
  // the array holding '/bottom' sits at pointer depth 64: its elements are read as the union's
  // relations there, then the walk into them (depth 65) is cut
  t.same(walk(Nested, wrapped(MAX_DEPTH)), { paths: ['/bottom'], complete: false })
  t.same(walk(Nested, wrapped(MAX_DEPTH + 1)), { paths: [], complete: false })
  t.same(walk(Nested, wrapped(MAX_DEPTH - 1)), { paths: ['/bottom'], complete: true })
  const cyclic: unknown[] = ['/x']
  cyclic.push(cyclic)
  t.same(walk(Nested, cyclic), { paths: ['/x'], complete: false })
})

t.test('document order and de-duplication', async (t) => {
  const schema = Type.Object({
    book: Push(Type.Object({ '@id': Type.String(), author: Iri, reviews: Type.Array(Iri) })),
    related: Type.Array(Iri)
  })
  const { set, complete } = run(schema, {
    related: ['/authors/1', '/books/2'],
    book: { '@id': '/books/1', reviews: ['/reviews/1', '/authors/1'], author: '/authors/1' }
  })
  t.same(set.paths, ['/books/1', '/authors/1', '/reviews/1', '/books/2'], 'schema order, the embedded object before its fields')
  t.equal(complete, true)
})

t.test('values that are not where the plan expects them are ignored', async (t) => {
  const schema = Type.Object({
    author: Iri,
    list: Type.Array(Iri),
    pair: Type.Tuple([Iri]),
    nested: Type.Object({ x: Iri }),
    map: Type.Record(Type.String(), Iri)
  })
  t.same(walk(schema, 'a string'), { paths: [], complete: true })
  t.same(walk(schema, null), { paths: [], complete: true })
  t.same(walk(schema, ['/x']), { paths: [], complete: true }, 'an array where an object is expected')
  const { set, complete } = run(schema, {
    author: 42,
    list: { 0: '/not/a/list' },
    pair: '/not/a/tuple',
    nested: ['/x'],
    map: ['/y']
  })
  t.same(set.paths, [])
  t.equal(set.skipped, 1, 'only the annotated value itself counts as skipped')
  t.equal(complete, true)
  t.same(run(Type.Array(Iri), { a: '/a' }).set.paths, [], 'an object where an array is expected')
})

t.test('missing fields and undefined values are neither links nor skipped', async (t) => {
  const schema = Type.Object({ a: Type.Optional(Iri), b: Type.Optional(Type.Object({ c: Iri })) })
  const { set } = run(schema, { a: undefined })
  t.same(set.paths, [])
  t.equal(set.skipped, 0)
})

t.test('inherited names are read as the serializer reads them', async (t) => {
  class Model {
    get author (): string { return '/authors/1' }
  }
  t.same(paths(Type.Object({ author: Iri }), new Model()), ['/authors/1'], 'a getter on the prototype')
  // a prototype's `constructor` is a function, not a link
  const { set } = run(Type.Object({ constructor: Type.Optional(Iri) }), {})
  t.same(set.paths, [])
})

t.test('__proto__ keys in JSON data are plain keys', async (t) => {
  const payload = JSON.parse('{ "__proto__": "/p/1", "a": "/a/1", "nested": { "__proto__": { "self": "/p/2" } } }') as unknown
  const schema = Type.Object({ nested: Type.Record(Type.String(), Type.Object({ self: Iri })) }, { additionalProperties: Iri })
  t.same(paths(schema, payload), ['/p/2', '/p/1', '/a/1'])
  t.equal(({} as Record<string, unknown>)['self'], undefined, 'no prototype was polluted')
})

t.test('tuples: prefixItems by index, items past them', async (t) => {
  const schema = { type: 'array', prefixItems: [{ type: 'string' }, { type: 'string', 'x-push': true }], items: { type: 'integer', 'x-push': '/rest/{n}' } }
  t.same(paths(schema, ['/zero', '/one', 2, 3]), ['/one', '/rest/2', '/rest/3'])
  t.same(paths(schema, ['/zero']), [])
  t.same(paths(Type.Tuple([Iri, Type.String()]), ['/a', '/b', '/c']), ['/a'], 'nothing past a closed tuple')
})

t.test('patternProperties and additionalProperties, as the serializer reads them', async (t) => {
  const schema = {
    type: 'object',
    properties: { name: { type: 'string' }, 'id-0': { type: 'integer' } },
    patternProperties: { '^id-': { type: 'integer', 'x-push': '/ids/{n}' }, '^id-x': { type: 'integer', 'x-push': '/x/{n}' }, '^plain-': { type: 'string' } },
    additionalProperties: { type: 'string', 'x-push': true }
  }
  t.same(paths(schema, { name: '/name', 'id-0': 0, 'id-1': 1, 'id-x2': 2, 'plain-1': '/plain', other: '/other' }),
    ['/ids/1', '/ids/2', '/other'],
    'the first matching pattern decides (^id-x is never reached), additional only for names no pattern matches, declared names for neither')
  const only = { type: 'object', additionalProperties: { type: 'string', 'x-push': true } }
  t.same(paths(only, { a: '/a', b: '/b' }), ['/a', '/b'])
  const declaredOnly = { type: 'object', properties: { a: { type: 'string', 'x-push': true } }, additionalProperties: { type: 'string', 'x-push': '/more/{x}' } }
  t.same(paths(declaredOnly, { a: '/a', b: 'b' }), ['/a', '/more/b'], 'a declared relation is read once, with its own rule')
  // fast-json-stringify leaves undefined, function and symbol values of other names out of the body
  const leftOut = run(only, { a: undefined, b: '/b', c: () => '/c', d: Symbol('d') })
  t.same(leftOut.set.paths, ['/b'])
  t.equal(leftOut.set.skipped, 0, 'values the serializer leaves out are neither links nor skipped')
})

t.test('hand-built plans: every field may be null', async (t) => {
  // compiled plans always list the patterns beside a live additionalProperties; the walk does not rely on it
  const rules = { string: { template: null, params: '; rel=preload; as=fetch', nopush: false }, number: null, object: null }
  const empty = { link: null, properties: null, declared: null, patterns: null, additional: null, prefixItems: null, items: null }
  const leaf: PlanNode = { ...empty, link: rules }
  const additionalOnly: PlanNode = { ...empty, additional: leaf }
  const resolved = resolveOptions()
  const set = new LinkSet(resolved, fakeRequest)
  t.equal(collectLinks(additionalOnly, { a: '/a', b: 7 }, set, resolved.iriKey), true)
  t.same(set.paths, ['/a'])
  t.equal(set.skipped, 1)
  const patternsOnly: PlanNode = { ...empty, patterns: [[/^a/, leaf], [/^b/, null]] }
  const other = new LinkSet(resolved, fakeRequest)
  collectLinks(patternsOnly, { a1: '/a/1', b1: '/b/1', c1: '/c/1' }, other, resolved.iriKey)
  t.same(other.paths, ['/a/1'], 'a name no pattern matches, without additionalProperties, is not read')
})

t.test('the caps stop the walk', async (t) => {
  t.test('in an annotated array', async (t) => {
    const { set } = run(Type.Object({ list: Type.Array(Type.String(), { 'x-push': true }) }), { list: ['/a', '/b', '/c'] }, { maxLinks: 2 })
    t.same(set.paths, ['/a', '/b'])
    t.equal(set.capped, 'maxLinks')
  })

  t.test('in array items', async (t) => {
    const schema = Type.Array(Type.Object({ a: Iri, b: Iri }))
    const { set, complete } = run(schema, [{ a: '/1', b: '/2' }, { a: '/3', b: '/4' }, { a: '/5' }], { maxLinks: 2 })
    t.same(set.paths, ['/1', '/2'])
    t.equal(set.capped, 'maxLinks')
    t.equal(complete, true, 'a cap is not a depth cut')
  })

  t.test('in properties', async (t) => {
    const schema = Type.Object({ a: Iri, b: Type.Object({ c: Iri }), d: Iri })
    const { set } = run(schema, { a: '/a', b: { c: '/c' }, d: '/d' }, { maxLinks: 1 })
    t.same(set.paths, ['/a'])
  })

  t.test('in patterns and additional properties', async (t) => {
    const schema = Type.Record(Type.String(), Type.Object({ x: Iri, y: Iri }))
    const { set } = run(schema, { k1: { x: '/1', y: '/2' }, k2: { x: '/3' } }, { maxLinks: 1 })
    t.same(set.paths, ['/1'])
    const additional = { type: 'object', additionalProperties: { type: 'string', 'x-push': true } }
    t.same(run(additional, { a: '/a', b: '/b', c: '/c' }, { maxLinks: 2 }).set.paths, ['/a', '/b'])
  })

  t.test('by bytes', async (t) => {
    // '</a>; rel=preload; as=fetch' is 27 bytes, ', ' separates entries
    const { set } = run(Type.Array(Iri), ['/a', '/b', '/c'], { maxLinkBytes: 56 })
    t.same(set.paths, ['/a', '/b'])
    t.equal(set.bytes, 56)
    t.equal(set.capped, 'maxLinkBytes')
  })

  t.test('10,000 invalid values stop costing at maxCandidates', async (t) => {
    const values = Array.from({ length: 10_000 }, (_, i) => i)
    const { set } = run(Type.Object({ list: Type.Array(Iri), after: Iri }), { list: values, after: '/after' })
    t.same(set.paths, [])
    t.equal(set.capped, 'maxCandidates')
    t.equal(set.skipped, 1025)
  })

  t.test('10,000 duplicates do not count against maxLinks', async (t) => {
    const values = Array.from({ length: 10_000 }, () => '/same')
    const { set } = run(Type.Object({ list: Type.Array(Iri, { 'x-push': true }) }), { list: values })
    t.same(set.paths, ['/same'])
    t.equal(set.capped, 'maxCandidates')
  })
})

t.test('hostile values never become header injection', async (t) => {
  const schema = Type.Object({ list: Type.Array(Iri) })
  const { set } = run(schema, { list: ['/a\r\nSet-Cookie: x=1', '/b>; rel=stylesheet', '/c d', 'javascript:alert(1)', 'https://evil.example/x', 'x'.repeat(1_000_000), '/ok'] })
  t.same(set.paths, ['/b%3E;%20rel=stylesheet', '/c%20d', '/ok'])
  t.same(set.entries, ['</b%3E;%20rel=stylesheet>; rel=preload; as=fetch', '</c%20d>; rel=preload; as=fetch', '</ok>; rel=preload; as=fetch'])
  t.equal(set.skipped, 4)
})

t.test('referenceOf', async (t) => {
  const scalar = template('/authors/{id}')
  const pair = template('/a/{x}/{y}')

  t.test('without template', async (t) => {
    t.equal(referenceOf(null, '/authors/1', '@id'), '/authors/1')
    t.equal(referenceOf(null, 7, '@id'), null)
    t.equal(referenceOf(null, true, '@id'), null)
    t.equal(referenceOf(null, undefined, '@id'), null)
    t.equal(referenceOf(null, null, '@id'), null)
    t.equal(referenceOf(null, ['/a'], '@id'), null)
    t.equal(referenceOf(null, { '@id': '/authors/2' }, '@id'), '/authors/2')
    t.equal(referenceOf(null, { '@id': '/authors/2', href: '/h' }, 'href'), '/h')
    t.equal(referenceOf(null, { '@id': 2 }, '@id'), null)
    t.equal(referenceOf(null, {}, '@id'), null)
  })

  t.test('with a template', async (t) => {
    t.equal(referenceOf(scalar, 7, '@id'), '/authors/7')
    t.equal(referenceOf(scalar, 'a b/c', '@id'), '/authors/a%20b%2Fc')
    t.equal(referenceOf(scalar, "it's (x)*!", '@id'), '/authors/it%27s%20%28x%29%2A%21')
    t.equal(referenceOf(scalar, 10n, '@id'), '/authors/10')
    t.equal(referenceOf(scalar, '', '@id'), null)
    t.equal(referenceOf(scalar, Number.NaN, '@id'), null)
    t.equal(referenceOf(scalar, true, '@id'), null)
    t.equal(referenceOf(scalar, { id: 3 }, '@id'), '/authors/3')
    t.equal(referenceOf(scalar, { name: 'x' }, '@id'), null)
    t.equal(referenceOf(scalar, null, '@id'), null)
    t.equal(referenceOf(scalar, ['/a'], '@id'), null)
    t.equal(referenceOf(pair, { x: 1, y: 'é' }, '@id'), '/a/1/%C3%A9')
    t.equal(referenceOf(pair, 5, '@id'), null, 'one scalar cannot fill two variables')
    t.equal(referenceOf(scalar, '\ud800', '@id'), null, 'a lone surrogate has no UTF-8 form')
  })
})

t.test('each value uses the rule of its kind', async (t) => {
  const schema = Type.Object({
    list: Type.Array(Type.Unknown(), { 'x-push': true }),
    ids: Type.Array(Type.Union([Type.String(), Type.Integer()]), { 'x-push': '/ids/{id}' })
  })
  const { set } = run(schema, {
    list: ['/a', 1, 2n, { '@id': '/o' }, ['/nested'], true, null, undefined],
    ids: ['s', 3, 4n, { id: 5 }, false]
  })
  t.same(set.paths, ['/a', '/o', '/ids/s', '/ids/3', '/ids/4'],
    'no template: strings and objects; a template: strings and numbers (bigint included)')
  t.equal(set.skipped, 8, 'list: numbers without template, an array, true, null, undefined; ids: an object, false')
})

t.test('the link parameters come from the rule of each relation', async (t) => {
  const schema = Type.Object({ a: Iri, b: Push(Type.String(), { nopush: true }) })
  t.same(run(schema, { a: '/a', b: '/b' }).set.entries, ['</a>; rel=preload; as=fetch', '</b>; rel=preload; as=fetch; nopush'])
})

t.test('what the serializer turns into JSON is what the collector reads: toJSON()', async (t) => {
  t.test('objects with toJSON', async (t) => {
    const schema = Type.Object({ author: Type.Object({ '@id': Type.String() }, { 'x-push': true }), book: Type.Object({ editor: Iri }) })
    t.same(paths(schema, { author: { toJSON: () => ({ '@id': '/authors/1' }) }, book: { toJSON: () => ({ editor: '/editors/1' }) } }),
      ['/authors/1', '/editors/1'])
    t.same(paths(schema, { toJSON: () => ({ author: { '@id': '/authors/2' } }) }), ['/authors/2'], 'the root payload too')
    t.same(paths(schema, { author: { '@id': '/authors/3', toJSON: () => ({ name: 'no iri' }) } }), [], 'the raw object is not read')
  })

  t.test('a class with toJSON gives the links of what it serializes to', async (t) => {
    class Author {
      constructor (private readonly id: number) {}
      toJSON (): unknown { return { '@id': `/authors/${this.id}`, name: 'a' } }
    }
    class Shelf {
      toJSON (): unknown { return { books: ['/books/1', new URL('http://api.example.com/books/2')], owner: new Author(9) } }
    }
    const schema = Type.Object({
      authors: Type.Array(Type.Object({ '@id': Type.String(), name: Type.String() }), { 'x-push': true }),
      shelf: Type.Object({ books: Type.Array(Iri), owner: Type.Object({ '@id': Type.String() }, { 'x-push': true }) })
    })
    t.same(paths(schema, { authors: [new Author(1), new Author(2)], shelf: new Shelf() }),
      ['/authors/1', '/authors/2', '/books/1', '/books/2', '/authors/9'], 'annotated array elements, items and properties')
  })

  t.test('a URL object in a string field', async (t) => {
    t.same(paths(Type.Object({ author: Iri }), { author: new URL('http://api.example.com/authors/3') }), ['/authors/3'])
    t.same(paths(Type.Object({ author: Iri }), { author: new URL('https://elsewhere.example/authors/3') }), [], 'another origin, as any string')
  })

  t.test('toJSON that returns an array or a scalar', async (t) => {
    t.same(paths(Type.Object({ list: Type.Array(Iri) }), { list: { toJSON: () => ['/a', '/b'] } }), ['/a', '/b'])
    t.same(paths(Type.Object({ nested: Type.Object({ x: Iri }) }), { nested: { toJSON: () => '/not/an/object', x: '/x' } }), [])
  })

  t.test('a toJSON that is not a function is a plain property', async (t) => {
    t.same(paths(Type.Object({ a: Iri }), { toJSON: '/not/called', a: '/a' }), ['/a'])
  })
})

t.test('the walk agrees with the body Fastify serializes', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(pushRelations)
  const schema = {
    type: 'object',
    properties: { self: { type: 'string', 'x-push': true }, 'x-a': { type: 'string' } },
    patternProperties: { '^x-': { type: 'string' }, '^x-b': { type: 'string', 'x-push': true }, '^y\\-': { type: 'string', 'x-push': true } },
    additionalProperties: { type: 'string', 'x-push': true }
  }
  app.get('/patterns', { schema: { response: { 200: schema } } },
    async () => ({ self: '/s', 'x-a': '/xa', 'x-b': '/xb', 'y-1': '/y1', other: '/o' }))
  class Author {
    toJSON (): unknown { return { '@id': '/authors/1' } }
  }
  app.get('/tojson', {
    schema: { response: { 200: Type.Object({ author: Type.Object({ '@id': Type.String() }, { 'x-push': true }), url: Iri }) } }
  }, async (request) => ({ author: new Author(), url: new URL(`http://${request.host}/authors/3`) }))
  app.get('/union', { schema: { response: { 200: Type.Union([Type.Tuple([Type.String(), Iri]), Type.Array(Iri)]) } } },
    async () => ['/a', '/b', '/c'])

  const patterns = await app.inject('/patterns')
  t.equal(patterns.body, '{"self":"/s","x-a":"/xa","x-b":"/xb","y-1":"/y1","other":"/o"}')
  t.equal(patterns.headers['link'], '</s>; rel=preload; as=fetch, </y1>; rel=preload; as=fetch, </o>; rel=preload; as=fetch',
    'x-a is declared, x-b matches the first pattern (no relation), y-1 a pattern only valid without u')
  const tojson = await app.inject('/tojson')
  t.equal(tojson.body, '{"author":{"@id":"/authors/1"},"url":"http://localhost/authors/3"}')
  t.equal(tojson.headers['link'], '</authors/1>; rel=preload; as=fetch, </authors/3>; rel=preload; as=fetch')
  const union = await app.inject('/union')
  t.equal(union.body, '["/a","/b","/c"]')
  t.equal(union.headers['link'], '</a>; rel=preload; as=fetch, </b>; rel=preload; as=fetch, </c>; rel=preload; as=fetch')
})
