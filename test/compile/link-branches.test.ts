// lib/compile/link-branches.ts: a union whose branches disagree about strings (or numbers), "a link, or
// free text", fails at startup unless its schema tells the branches apart with keywords checked
// here (pattern, format, const, enum, integer); then each value follows the branch Fastify's
// serializer picks for it: the first that validates.
import t from 'tap'
import Fastify from 'fastify'
import { Type, type TSchema } from '@sinclair/typebox'
import pushRelations, { Push } from '../../lib/index.js'
import { FORMATS, MAX_ALTERNATIVES } from '../../lib/compile/link-branches.js'
import { invalid, links, planOf, routeError } from '../helpers/plans.js'

const STRINGS = 'give the branches a "pattern", a "format" (uri, uri-reference, uuid), a "const" or an "enum", or use separate fields'
const NUMBERS = 'give the branches a "const" or an "enum" (or "integer" against "number"), or use separate fields'
const ambiguous = (kind: string, fix: string): string =>
  `a union holds ${kind}s that are links and ${kind}s that are not, and the schema cannot tell them apart (the first branch that matches takes every ${kind}): ${fix}`
const unchecked = (keyword: string): string =>
  `a union holds strings that are links and strings that are not, told apart by "${keyword}", which the plugin does not check: ${STRINGS}`

t.test('a link or free text that nothing tells apart fails at startup, naming route, response and pointer', async (t) => {
  const cases: Array<[string, unknown, string, string]> = [
    ['the issue\'s shape', Type.Object({ author: Type.Union([Push(Type.String()), Type.String()]) }), '/author', ambiguous('string', STRINGS)],
    ['the other order', Type.Object({ author: Type.Union([Type.String(), Push(Type.String())]) }), '/author', ambiguous('string', STRINGS)],
    ['oneOf, in an array', Type.Object({ list: Type.Array(Type.Unsafe({ oneOf: [{ type: 'string', 'x-push': true }, { type: 'string', 'x-push': false }] })) }), '/list/*',
      ambiguous('string', STRINGS)],
    ['a later branch shadowed by a first one that takes every string', Type.Object({ a: Type.Union([Type.String(), Push(Type.String({ pattern: '^/' }))]) }), '/a',
      ambiguous('string', STRINGS)],
    ['through a $ref', Type.Object({ a: Type.Union([Type.Ref('Link'), Type.String()]) }), '/a', ambiguous('string', STRINGS)],
    ['numbers', Type.Object({ id: Type.Union([Push(Type.Integer(), '/a/{id}'), Type.Integer()]) }), '/id', ambiguous('number', NUMBERS)],
    ['a keyword the plugin does not check', Type.Object({ a: Type.Union([Push(Type.String({ minLength: 2 })), Type.String()]) }), '/a', unchecked('minLength')],
    ['a format the plugin does not check', Type.Object({ a: Type.Union([Push(Type.String({ format: 'email' })), Type.String()]) }), '/a', unchecked('format: email')],
    ['an invalid pattern', Type.Object({ a: Type.Union([Push(Type.String({ pattern: '(' })), Type.String()]) }), '/a', unchecked('pattern')],
    ['if / then / else', Type.Object({ a: Type.Unsafe({ type: 'string', if: { pattern: '^/' }, then: { 'x-push': true } }) }), '/a', unchecked('if')],
    ['a format that is not a string', Type.Object({ a: Type.Union([Push(Type.Unsafe({ type: 'string', format: 42 })), Type.String()]) }), '/a', unchecked('format: 42')],
    ['a union that refers to itself', Type.Object({ a: Type.Union([Type.Ref('Self'), Type.String()]) }), '/a', ambiguous('string', STRINGS)],
    ['too many alternatives', Type.Object({
      a: Type.Intersect(Array.from({ length: 5 }, (_, i) => Type.Union(Array.from({ length: 5 }, (_, j) => Type.String({ const: `${i}${j}` })))).concat(Type.Union([Push(Type.String()), Type.String()])))
    }), '/a', `its unions combine into more than ${MAX_ALTERNATIVES} alternatives; split the field`]
  ]
  for (const [name, schema, pointer, problem] of cases) {
    t.has(routeError(schema, {}, { Link: Push(Type.String()), Self: { anyOf: [{ $ref: 'Self' }, { type: 'string', pattern: '^/', 'x-push': true }] } }), invalid(pointer, problem), name)
  }
})

t.test('a parent annotation on a union of 300 literals is one rule, however many branches', async (t) => {
  const schema = Type.Object({ a: Push(Type.Union(Array.from({ length: 300 }, (_, i) => Type.Literal(`/a/${i}`)))) })
  t.equal(routeError(schema), null)
  t.same(links(schema, { a: '/a/299' }), ['/a/299'])
})

t.test('unions that agree need no choice: every branch has the rule, or the rule is for another kind', async (t) => {
  const schema = Type.Object({
    a: Type.Union([Push(Type.String({ pattern: '^/' })), Push(Type.String())]),
    b: Push(Type.Union([Type.String({ format: 'uri' }), Type.String()])),
    c: Type.Union([Push(Type.String()), Type.Integer(), Type.Null()]),
    d: Type.Union([Push(Type.String()), Push(Type.Integer(), '/d/{id}')])
  })
  t.equal(routeError(schema), null)
  const plan = planOf(schema)
  t.equal(plan.properties?.every(([, node]) => node.link?.stringBranches === undefined && node.link?.numberBranches === undefined), true)
  t.same(links(schema, { a: 'x', b: 'y', c: 3, d: 4 }), ['/books/x', '/books/y', '/d/4'])
})

t.test('branches told apart by the schema: each value follows the first branch that takes it, as the serializer does', async (t) => {
  const cases: Array<[string, TSchema, Record<string, unknown>, string[]]> = [
    ['pattern and const together', Type.Union([Push(Type.String({ pattern: '^/', enum: ['/a/1', '/a/2', 'x'] })), Type.String()]), { a: '/a/1', b: 'x', c: '/a/3' }, ['/a/1']],
    ['a branch with its own $id and several types', Type.Union([Type.Unsafe({ $id: 'http://example.com/link', type: ['string', 'null'], pattern: '^/', 'x-push': true }), Type.String()]),
      { a: '/a/1', b: 'text', c: null }, ['/a/1']],
    ['integer against anything', Type.Union([Push(Type.Integer(), '/authors/{id}'), Type.Unknown()]), { a: 7, b: 1.5, c: 'x' }, ['/authors/7']],
    ['pattern', Type.Union([Push(Type.String({ pattern: '^/' })), Type.String()]), { a: '/authors/1', b: 'free text', c: 'authors/2' }, ['/authors/1']],
    ['pattern, link last', Type.Union([Type.String({ pattern: '^#' }), Push(Type.String())]), { a: '#tag', b: '/authors/1', c: 'authors/2' }, ['/authors/1', '/books/authors/2']],
    ['format: uri', Type.Union([Push(Type.String({ format: 'uri' })), Type.String()]), { a: 'http://api.example.com/authors/1', b: 'see authors/1' }, ['/authors/1']],
    ['format: uri-reference', Type.Union([Push(Type.String({ format: 'uri-reference' })), Type.String()]), { a: 'authors/1', b: 'free text' }, ['/books/authors/1']],
    ['format: uuid, the text first', Type.Union([Type.String({ format: 'uuid' }), Push(Type.String(), '/ids/{id}')]), { a: '0b7a0c2e-4f0e-4c1a-9a3e-3f1d2c4b5a69', b: 'x1' }, ['/ids/x1']],
    ['const', Type.Union([Type.Literal('none'), Push(Type.String())]), { a: 'none', b: '/authors/1' }, ['/authors/1']],
    ['enum', Type.Union([Type.String({ enum: ['n/a', 'unknown'] }), Push(Type.String())]), { a: 'n/a', b: 'unknown', c: '/authors/1' }, ['/authors/1']],
    ['integer against number', Type.Union([Push(Type.Integer(), '/authors/{id}'), Type.Number()]), { a: 7, b: 1.5 }, ['/authors/7']],
    ['numbers by enum', Type.Union([Type.Integer({ enum: [0, -1] }), Push(Type.Integer(), '/authors/{id}')]), { a: 0, b: -1, c: 3 }, ['/authors/3']],
    ['a trailing branch with keywords not checked here', Type.Union([Push(Type.String({ pattern: '^/' })), Type.String({ minLength: 1 })]), { a: '/a/1', b: 'text' }, ['/a/1']]
  ]
  for (const [name, field, values, expected] of cases) {
    const schema = Type.Object({ f: field })
    t.equal(routeError(schema), null, name)
    t.same(Object.values(values).flatMap((value) => links(schema, { f: value })), expected, name)
  }
})

t.test('through the plugin: free text gets no link (nor a push), links do', async (t) => {
  const app = Fastify()
  await app.register(pushRelations)
  const Note = Type.Object({ note: Type.Union([Push(Type.String({ pattern: '^/' })), Type.String()]) })
  app.get('/notes/:n', { schema: { response: { 200: Note } } }, async (request) => ({ note: (request.params as { n: string }).n === '1' ? '/authors/1' : 'call me' }))
  t.equal((await app.inject('/notes/1')).headers.link, '</authors/1>; rel=preload; as=fetch')
  const text = await app.inject('/notes/2')
  t.equal(text.json().note, 'call me')
  t.equal(text.headers.link, undefined)
  const bad = Fastify()
  await bad.register(pushRelations)
  t.throws(() => {
    bad.get('/bad', { schema: { response: { 200: Type.Object({ note: Type.Union([Push(Type.String()), Type.String()]) }) } } }, async () => ({}))
  }, { code: 'FST_PUSH_RELATIONS_INVALID_ANNOTATION', message: /in GET \/bad, response 200, at JSON pointer "\/note": a union holds strings that are links/ })
})

t.test('the formats and patterns checked here agree with the serializer\'s own validation', async (t) => {
  // A one-branch union makes fast-json-stringify validate the value: 200 if the branch takes it, 500 if not.
  const app = Fastify({ logger: false })
  const samples = [
    'https://api.example.com/authors/1', 'http://[::1]:80/a?b#c', 'urn:isbn:0451450523', 'mailto:a@b.c', 'authors/1', '/authors/1', '#frag', '',
    'free text', 'a b', 'http://exa mple.com', '//host/path', 'urn:uuid:0b7a0c2e-4f0e-4c1a-9a3e-3f1d2c4b5a69', '0B7A0C2E-4F0E-4C1A-9A3E-3F1D2C4B5A69',
    '0b7a0c2e-4f0e-4c1a-9a3e-3f1d2c4b5a6', 'ünïcödé', '%zz', 'a"b', 'x:y', '😀'
  ]
  const checks: Array<[string, object, (value: string) => boolean]> = [...FORMATS].map(([format, check]) => [format, { type: 'string', format }, check])
  const pattern = /^.$/u
  checks.push(['pattern with the u flag', { type: 'string', pattern: '^.$' }, (value) => pattern.test(value)])
  checks.forEach(([, branch], index) => {
    app.post(`/check/${index}`, { schema: { response: { 200: { type: 'object', properties: { v: { anyOf: [branch] } } } } } }, async (request) => request.body)
  })
  for (const [index, [name, , check]] of checks.entries()) {
    for (const value of samples) {
      const response = await app.inject({ method: 'POST', url: `/check/${index}`, payload: { v: value } })
      t.equal(check(value), response.statusCode === 200, `${name}: ${JSON.stringify(value)}`)
    }
  }
})
