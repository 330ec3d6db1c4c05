// lib/compile/link-rules.ts: the x-push annotations that apply to one place of the payload become one
// rule per kind of value (string, number, object), and an annotation that cannot work on its
// holder is a startup error naming the route, the response and the JSON pointer.
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { LinkRulesBuilder } from '../../lib/compile/link-rules.js'
import { resolveOptions, type PushRelationsOptions } from '../../lib/options.js'
import { SchemaResolver } from '../../lib/compile/schema-resolver.js'
import { compileRoute } from '../../lib/compile/route-compiler.js'
import { Push } from '../../lib/annotation/push.js'
import { collect, invalid, links, planOf, pointers, routeError } from '../helpers/plans.js'

const Iri = Type.String({ 'x-push': true })
const PLAIN = { template: null, params: '; rel=preload; as=fetch', nopush: false }
const OBJECT_WITHOUT_IRI = 'the object has no "@id" property in its schema: add it, set the iriKey option, or use a URI template such as "/authors/{id}"'

/** LinkRulesBuilder.rulesOf on `schema` and what it expands to, as the compiler calls it. */
function rulesOf (schema: Record<string, unknown>, options: PushRelationsOptions = {}): unknown {
  const resolver = new SchemaResolver(() => undefined)
  const builder = new LinkRulesBuilder(resolver, resolveOptions(options))
  return builder.rulesOf(resolver.expand([{ schema, document: resolver.documentOf(schema, '') }]))
}

t.test('LinkRulesBuilder.rulesOf', async (t) => {
  t.equal(rulesOf({ type: 'string' }), null, 'no annotation: null')
  t.equal(rulesOf({ type: 'string', 'x-push': false }), null, 'x-push: false is no annotation')
  t.same(rulesOf({ type: 'string', 'x-push': true }), { string: PLAIN, number: null, object: null }, 'a string field')
  t.same(rulesOf({ type: 'integer', 'x-push': '/a/{id}' }), {
    string: null,
    number: { template: { source: '/a/{id}', variables: ['id'], literals: ['/a/', ''], parts: ['id'], pathParts: 1 }, params: PLAIN.params, nopush: false },
    object: null
  }, 'an integer field')
  t.same(rulesOf({ type: 'object', properties: { '@id': { type: 'string' } }, 'x-push': true }), { string: null, number: null, object: PLAIN },
    'an embedded object')
  t.same(rulesOf({ 'x-push': true }), { string: PLAIN, number: PLAIN, object: PLAIN }, 'no type: every kind, checked value by value')
  t.same(rulesOf({ type: 'array', items: { type: 'string' }, 'x-push': true }), { string: PLAIN, number: null, object: null },
    'an annotated array: the kinds of its elements')
  t.same(rulesOf({ type: 'array', 'x-push': true }), { string: PLAIN, number: PLAIN, object: PLAIN }, 'an array of anything')
  t.same(rulesOf({ type: ['string', 'null'], 'x-push': { nopush: true } }),
    { string: { template: null, params: '; rel=preload; as=fetch; nopush', nopush: true }, number: null, object: null }, 'string | null')
  t.equal(rulesOf({ type: 'boolean', 'x-push': true }), 'a boolean cannot hold a link', 'a problem is a sentence')
  t.equal(rulesOf({ type: 'string', 'x-push': 42 }), 'must be true, a URI template string or an object, received number',
    'so is a malformed annotation')
  t.same(rulesOf({ type: 'object', properties: { href: { type: 'string' } }, 'x-push': true }, { iriKey: 'href' }),
    { string: null, number: null, object: PLAIN }, 'the iriKey option names the IRI property')
})

t.test('different annotations for different kinds of values', async (t) => {
  t.test('an IRI string or an integer id', async (t) => {
    const schema = Type.Object({ author: Type.Union([Iri, Type.Integer({ 'x-push': '/authors/{id}' })]) })
    t.equal(routeError(schema), null)
    t.same(pointers(schema), ['/author'])
    const link = planOf(schema).properties?.[0]?.[1].link
    t.same(link?.string, PLAIN, 'a string uses the first')
    t.same(link?.number?.template?.source, '/authors/{id}', 'a number the second')
    t.equal(link?.object, null)
    t.same(links(schema, { author: 7 }), ['/authors/7'])
    t.same(links(schema, { author: '/authors/8' }), ['/authors/8'])
    t.same(links(schema, { author: 9n }), ['/authors/9'], 'a bigint is a number')
    const set = collect(planOf(schema), { author: { '@id': '/authors/10' } })
    t.same(set.paths, [], 'an object has no rule here')
    t.equal(set.skipped, 1)
  })

  t.test('an embedded object or a string id', async (t) => {
    const schema = Type.Object({ x: Type.Union([Type.Object({ '@id': Type.String() }, { 'x-push': true }), Type.String({ 'x-push': '/s/{id}' })]) })
    t.equal(routeError(schema), null)
    t.same(links(schema, { x: { '@id': '/o/1' } }), ['/o/1'])
    t.same(links(schema, { x: 'a b' }), ['/s/a%20b'])
  })

  t.test('an annotated list or an integer id', async (t) => {
    const schema = Type.Object({ x: Type.Union([Type.Array(Type.String(), { 'x-push': true }), Type.Integer({ 'x-push': '/n/{id}' })]) })
    t.equal(routeError(schema), null)
    t.same(links(schema, { x: ['/a', '/b'] }), ['/a', '/b'])
    t.same(links(schema, { x: 5 }), ['/n/5'])
  })

  t.test('one annotation on the union and one on a branch', async (t) => {
    // `true` applies to the string branch only (an integer cannot be a link by itself)
    const schema = Type.Object({ x: Type.Union([Type.String(), Type.Integer({ 'x-push': '/a/{id}' })], { 'x-push': true }) })
    t.equal(routeError(schema), null)
    t.same(links(schema, { x: '/s' }), ['/s'])
    t.same(links(schema, { x: 4 }), ['/a/4'])
  })

  t.test('an array applies the rule of each element\'s kind', async (t) => {
    const schema = Type.Object({ x: Type.Array(Type.Union([Type.String(), Type.Integer()]), { 'x-push': '/t/{id}' }) })
    const set = collect(planOf(schema), { x: ['a', 1, true, null, { id: 1 }, ['z']] })
    t.same(set.paths, ['/t/a', '/t/1'])
    t.equal(set.skipped, 4, 'a boolean, null, an object and an array have no rule')
  })

  t.test('the same rule twice is one rule', async (t) => {
    const schema = Type.Object({ x: Type.Union([Type.Integer({ 'x-push': '/a/{id}' }), Type.Number({ 'x-push': '/a/{id}' })]) })
    t.equal(routeError(schema), null)
    t.same(links(schema, { x: 4 }), ['/a/4'])
  })

  t.test('two different rules for the same kind are still an error', async (t) => {
    const cases: Array<[string, unknown, string]> = [
      ['string', Type.Intersect([Type.Object({ a: Iri }), Type.Object({ a: Type.String({ 'x-push': '/a/{a}' }) })]), '/a'],
      ['string', Type.Object({ x: Type.Union([Type.Array(Type.String(), { 'x-push': true }), Type.String({ 'x-push': '/s/{x}' })]) }), '/x'],
      ['number', Type.Object({ x: Type.Union([Type.Integer({ 'x-push': '/a/{id}' }), Type.Integer({ 'x-push': { template: '/a/{id}', nopush: true } })]) }), '/x'],
      ['number', Type.Object({ x: Type.Union([Type.Any({ 'x-push': true }), Type.Integer({ 'x-push': '/a/{id}' })]) }), '/x'],
      ['object', Type.Object({ x: Type.Union([Type.Object({ id: Type.Integer() }, { 'x-push': '/o/{id}' }), Type.Object({ '@id': Type.String() }, { 'x-push': true })]) }), '/x']
    ]
    for (const [kind, schema, pointer] of cases) {
      t.has(routeError(schema), invalid(pointer, `two different x-push annotations apply to the same ${kind} value`), `${kind} at ${pointer}`)
    }
  })
})

t.test('annotation values', async (t) => {
  t.test('true on an embedded object: its @id', async (t) => {
    const schema = Type.Object({ author: Type.Object({ '@id': Type.String(), name: Type.String() }, { 'x-push': true }) })
    t.same(pointers(schema), ['/author'])
    t.same(links(schema, { author: { '@id': '/authors/1', name: 'a' } }), ['/authors/1'])
    const set = collect(planOf(schema), { author: { '@id': 7, name: 'a' } })
    t.same(set.paths, [])
    t.equal(set.skipped, 1)
  })

  t.test('true on an embedded object: a custom iriKey', async (t) => {
    const schema = Type.Object({ author: Type.Object({ href: Type.String() }, { 'x-push': true }) })
    t.same(pointers(schema, {}, { iriKey: 'href' }), ['/author'])
    t.same(links(schema, { author: { href: '/authors/1', '@id': '/nope' } }, {}, { iriKey: 'href' }), ['/authors/1'])
    t.has(routeError(schema), invalid('/author', OBJECT_WITHOUT_IRI))
  })

  t.test('templates on integer, string and object fields', async (t) => {
    const schema = Type.Object({
      authorId: Type.Integer({ 'x-push': '/authors/{id}' }),
      tag: Type.String({ 'x-push': '/tags/{tag}' }),
      publisher: Type.Object({ country: Type.String(), id: Type.Integer() }, { 'x-push': '/countries/{country}/publishers/{id}' }),
      score: Type.Number({ 'x-push': '/scores/{s}' })
    })
    t.same(pointers(schema), ['/authorId', '/tag', '/publisher', '/score'])
    t.same(links(schema, { authorId: 7, tag: 'a b/c', publisher: { country: 'fr', id: 3 }, score: 1.5 }),
      ['/authors/7', '/tags/a%20b%2Fc', '/countries/fr/publishers/3', '/scores/1.5'])
    const set = collect(planOf(schema), { authorId: 8, tag: '', publisher: { country: 'fr' } })
    t.same(set.paths, ['/authors/8'])
    t.equal(set.skipped, 2, 'empty values and missing variables give no link')
  })

  t.test('templates on an array of integers and on an array of objects', async (t) => {
    const schema = Type.Object({
      tagIds: Type.Array(Type.Integer(), { 'x-push': '/tags/{id}' }),
      authors: Type.Array(Type.Object({ id: Type.Integer() }), { 'x-push': '/authors/{id}' })
    })
    t.same(pointers(schema), ['/tagIds', '/authors'])
    t.same(links(schema, { tagIds: [1, 2], authors: [{ id: 3 }, { id: 4 }] }), ['/tags/1', '/tags/2', '/authors/3', '/authors/4'])
  })

  t.test('the Push() helper, with overrides', async (t) => {
    const schema = Type.Object({
      a: Push(Type.String()),
      b: Push(Type.Integer(), '/b/{id}'),
      c: Push(Type.String(), { nopush: true, as: 'document', rel: 'prefetch', crossorigin: 'use-credentials' }),
      d: Push(Type.Object({ id: Type.Integer() }), { template: '/d/{id}', crossorigin: 'anonymous' })
    })
    t.same(pointers(schema), ['/a', '/b', '/c', '/d'])
    t.same(collect(planOf(schema), { a: '/a/1', b: 2, c: '/c/3', d: { id: 4 } }).entries, [
      '</a/1>; rel=preload; as=fetch',
      '</b/2>; rel=preload; as=fetch',
      '</c/3>; rel=prefetch; as=document; crossorigin=use-credentials; nopush',
      '</d/4>; rel=preload; as=fetch; crossorigin'
    ])
    const base = Type.String()
    t.not(Push(base), base, 'Push returns a copy')
    t.equal(base['x-push'], undefined)
  })

  t.test('plugin-level options apply to true', async (t) => {
    const schema = Type.Object({ a: Iri })
    t.same(collect(planOf(schema, {}, { rel: 'prefetch', as: 'document', nopush: true, crossorigin: 'anonymous' }), { a: '/a/1' },
      { rel: 'prefetch', as: 'document', nopush: true, crossorigin: 'anonymous' }).entries,
    ['</a/1>; rel=prefetch; as=document; crossorigin; nopush'])
  })

  t.test('x-push: false is no relation', async (t) => {
    t.equal(pointers(Type.Object({ a: Type.String({ 'x-push': false }), b: Push(Type.Boolean(), false) })), null)
  })

  t.test('annotations on fields without a declared type are checked value by value', async (t) => {
    const schema = Type.Object({
      any: Type.Any({ 'x-push': true }),
      unknown: Type.Unknown({ 'x-push': '/u/{a}/{b}' }),
      free: Type.Unsafe({ type: 'object', 'x-push': '/f/{id}' }),
      arr: Type.Unsafe({ type: 'array', 'x-push': true })
    })
    t.same(pointers(schema), ['/any', '/unknown', '/free', '/arr'])
    t.same(links(schema, { any: '/any/1', unknown: { a: 1, b: 2 }, free: { id: 3 }, arr: ['/arr/1', 2] }),
      ['/any/1', '/u/1/2', '/f/3', '/arr/1'])
    const set = collect(planOf(schema), { any: 5, unknown: 'scalar with two variables', free: null, arr: [[1]] })
    t.same(set.paths, [])
    t.equal(set.skipped, 4)
  })

  t.test('without type, the keywords tell the type', async (t) => {
    // each union holds a boolean (which cannot be a link) and an untyped schema: accepted only if
    // the keywords make it an object or an array
    const schema = {
      type: 'object',
      properties: {
        p: { anyOf: [{ type: 'boolean' }, { properties: { '@id': {} } }], 'x-push': true },
        pp: { anyOf: [{ type: 'boolean' }, { patternProperties: {} }], 'x-push': true },
        ap: { anyOf: [{ type: 'boolean' }, { additionalProperties: {} }], 'x-push': true },
        i: { anyOf: [{ type: 'boolean' }, { items: { type: 'string' } }], 'x-push': true },
        pi: { anyOf: [{ type: 'boolean' }, { prefixItems: [{ type: 'string' }] }], 'x-push': true }
      }
    }
    t.equal(routeError(schema), null)
    t.same(pointers(schema), ['/p', '/pp', '/ap', '/i', '/pi'])
    t.has(routeError({ type: 'object', properties: { x: { properties: { name: {} }, 'x-push': true } } }), invalid('/x', OBJECT_WITHOUT_IRI))
    t.has(routeError({ type: 'object', properties: { x: { items: { type: 'boolean' }, 'x-push': true } } }),
      invalid('/x', 'a boolean cannot hold a link'))
    t.has(routeError({ type: 'object', properties: { x: { type: 'boolean', items: { type: 'string' }, 'x-push': true } } }),
      invalid('/x', 'a boolean cannot hold a link'), 'a declared type is not widened by the keywords')
  })

  t.test('the same branch twice is followed once', async (t) => {
    const schema = Type.Object({ a: Type.Union([Iri, Iri]) })
    t.same(pointers(schema), ['/a'])
    t.same(links(schema, { a: '/a/1' }), ['/a/1'])
  })

  t.test('const and enum tell the type', async (t) => {
    t.same(pointers({ type: 'object', properties: { list: { enum: [['/l/1'], null], 'x-push': true } } }), ['/list'])
    t.has(routeError({ type: 'object', properties: { flag: { enum: [true, 1], 'x-push': true } } }),
      invalid('/flag', 'a boolean cannot hold a link'), 'the first reason of a union of non-holders')
    t.same(pointers(Type.Object({ a: Type.Literal('/a/1', { 'x-push': true }), b: Type.Unsafe({ enum: ['/b/1', null], 'x-push': true }) })), ['/a', '/b'])
    t.has(routeError({ type: 'object', properties: { c: { enum: [1, 2], 'x-push': true } } }),
      invalid('/c', 'a number cannot be a link by itself: use a URI template such as "/authors/{id}"'))
    t.equal(routeError({ type: 'object', properties: { c: { const: { x: 1 }, 'x-push': '/c/{y}' } } }), null,
      'a const object declares no properties: checked value by value')
  })

  t.test('the properties of an embedded object come from every schema of the value', async (t) => {
    // the annotated schema declares no @id, the allOf beside it does
    const schema = Type.Object({
      author: Type.Intersect([Type.Object({ name: Type.String() }, { 'x-push': true }), Type.Object({ '@id': Type.String() })])
    })
    t.equal(routeError(schema), null)
    t.same(links(schema, { author: { name: 'a', '@id': '/authors/1' } }), ['/authors/1'])
  })
})

t.test('values the serializer coerces to the field\'s type', async (t) => {
  // fast-json-stringify writes the declared type; the collector picks the rule by the kind of
  // the value in the payload, with one bridge: a numeric string takes a number rule.
  t.same(links(Type.Object({ authorId: Type.Integer({ 'x-push': '/authors/{id}' }) }), { authorId: '7' }), ['/authors/7'],
    'a numeric string in an integer field: the serializer writes 7, the link follows')
  t.same(links(Type.Object({ authorId: Type.Integer({ 'x-push': '/authors/{id}' }) }), { authorId: 'seven' }), [],
    'a string that is no number in an integer field: the serializer fails, no link')
  t.same(links(Type.Object({ author: Iri }), { author: { toString: () => '/authors/1' } }), [],
    'an object with toString (no toJSON) in a string field is not taken for a reference: give it toJSON')
})

t.test('startup errors name the route, the response key and the JSON pointer', async (t) => {
  const cases: Array<[string, unknown, string, string]> = [
    ['a boolean field', Type.Object({ ok: Type.Boolean({ 'x-push': true }) }), '/ok', 'a boolean cannot hold a link'],
    ['a number without template', Type.Object({ n: Type.Integer({ 'x-push': true }) }), '/n',
      'a number cannot be a link by itself: use a URI template such as "/authors/{id}"'],
    ['a template with 2 variables on a string', Type.Object({ s: Type.String({ 'x-push': '/a/{x}/{y}' }) }), '/s',
      'template "/a/{x}/{y}" has 2 variables; on a string it needs exactly one'],
    ['a template with 2 variables on a number', Type.Object({ n: Type.Number({ 'x-push': '/a/{x}/{y}' }) }), '/n',
      'template "/a/{x}/{y}" has 2 variables; on a number it needs exactly one'],
    ['an object without @id in its properties', Type.Object({ member: Type.Array(Type.Object({ author: Type.Object({ name: Type.String() }, { 'x-push': true }) })) }),
      '/member/*/author', OBJECT_WITHOUT_IRI],
    ['a template variable that is not a property', Type.Object({ author: Type.Object({ name: Type.String() }, { 'x-push': '/authors/{id}' }) }), '/author',
      'template variable "id" is not a property of the object'],
    ['an array of arrays', Type.Object({ grid: Type.Array(Type.Array(Type.String()), { 'x-push': true }) }), '/grid',
      'an array of arrays cannot hold links; annotate the inner items'],
    ['an array of booleans', Type.Object({ flags: Type.Array(Type.Boolean(), { 'x-push': true }) }), '/flags', 'a boolean cannot hold a link'],
    ['a tuple with a boolean', { type: 'array', prefixItems: [{ type: 'boolean' }], 'x-push': true }, '', 'a boolean cannot hold a link'],
    ['a draft-07 tuple with additionalItems', { type: 'array', items: [{ type: 'boolean' }], additionalItems: { type: 'array' }, 'x-push': true }, '',
      'a boolean cannot hold a link'],
    ['an always-null field', Type.Object({ nothing: Type.Null({ 'x-push': true }) }), '/nothing', 'a field that is always null cannot hold a link'],
    ['two different annotations on the same value', Type.Intersect([Type.Object({ a: Iri }), Type.Object({ a: Type.String({ 'x-push': '/a/{a}' }) })]), '/a',
      'two different x-push annotations apply to the same string value'],
    ['a union of non-holders', Type.Object({ u: Type.Union([Type.Number(), Type.Boolean()], { 'x-push': true }) }), '/u',
      'a number cannot be a link by itself: use a URI template such as "/authors/{id}"'],
    ['a union with an annotated non-holder branch', Type.Object({ u: Type.Union([Iri, Type.Boolean({ 'x-push': true })]) }), '/u',
      'a boolean cannot hold a link'],
    ['a malformed annotation (number)', { type: 'object', properties: { m: { type: 'string', 'x-push': 42 } } }, '/m',
      'must be true, a URI template string or an object, received number'],
    ['a malformed annotation (null)', { type: 'object', properties: { m: { type: 'string', 'x-push': null } } }, '/m',
      'must be true, a URI template string or an object, received null'],
    ['a malformed annotation (array)', { type: 'object', properties: { m: { type: 'string', 'x-push': ['/a'] } } }, '/m',
      'must be true, a URI template string or an object, received an array'],
    ['an unknown object key', { type: 'object', properties: { m: { type: 'string', 'x-push': { href: '/a' } } } }, '/m',
      'unknown property "href" (expected template, rel, as, crossorigin, nopush)'],
    ['a bad template', Type.Object({ m: Type.String({ 'x-push': '/a/{' }) }), '/m', 'template "/a/{": unclosed "{" at offset 3'],
    ['a template without variable', Type.Object({ m: Type.String({ 'x-push': '/a' }) }), '/m',
      'template "/a" has no variable; a constant link belongs in the handler'],
    ['an escaped pointer', Type.Object({ 'a/b': Type.Object({ '~': Type.Object({ '*': Type.Boolean({ 'x-push': true }) }) }) }), '/a~1b/~0/~2',
      'a boolean cannot hold a link'],
    ['a pattern or additional value', Type.Record(Type.String(), Type.Boolean({ 'x-push': true })), '/*', 'a boolean cannot hold a link'],
    ['a tuple element', Type.Tuple([Type.String(), Type.Boolean({ 'x-push': true })]), '/1', 'a boolean cannot hold a link'],
    ['in a shared schema', Type.Object({ x: Type.Ref('Bad') }), '/x', 'a boolean cannot hold a link']
  ]
  for (const [name, schema, pointer, problem] of cases) {
    const error = routeError(schema, {}, { Bad: { type: 'boolean', 'x-push': true } })
    t.has(error, invalid(pointer, problem), name)
    t.type(error, TypeError, name)
  }

  t.test('the response key names the status and the media type', async (t) => {
    const bad = Type.Object({ ok: Type.Boolean({ 'x-push': true }) })
    t.throws(() => compileRoute({ '2XX': bad }, () => undefined, resolveOptions(), 'PUT /x'), {
      message: 'fastify-push-relations: invalid x-push annotation in PUT /x, response 2xx, at JSON pointer "/ok": a boolean cannot hold a link'
    })
    t.throws(() => compileRoute({ default: { content: { 'application/ld+json': { schema: bad } } } }, () => undefined, resolveOptions(), 'GET,HEAD /y'), {
      message: 'fastify-push-relations: invalid x-push annotation in GET,HEAD /y, response default application/ld+json, at JSON pointer "/ok": a boolean cannot hold a link'
    })
  })

  t.test('a recursive schema with a mistake throws once, without looping', async (t) => {
    const Bad = Type.Recursive((This) => Type.Object({ ok: Type.Boolean({ 'x-push': true }), next: Type.Optional(This) }))
    t.has(routeError(Bad), invalid('/ok', 'a boolean cannot hold a link'))
  })
})

t.test('unions where one branch can hold a link are accepted', async (t) => {
  const schema = Type.Object({
    a: Type.Union([Type.Boolean(), Type.String()], { 'x-push': true }),
    b: Type.Union([Type.Integer(), Type.Null()], { 'x-push': '/b/{id}' }),
    c: Type.Unsafe({ type: ['boolean', 'string', 'null'], 'x-push': true }),
    d: Type.Union([Type.Object({ name: Type.String() }), Type.String()], { 'x-push': true }),
    e: Type.Union([Type.Array(Type.Boolean()), Type.String()], { 'x-push': true }),
    f: Type.Unsafe({ type: 'file', 'x-push': true })
  })
  t.equal(routeError(schema), null)
  t.same(pointers(schema), ['/a', '/b', '/c', '/d', '/e', '/f'])
  const set = collect(planOf(schema), { a: true, b: 1, c: '/c/1', d: '/d/1', e: [true, '/e/1'], f: '/f/1' })
  t.same(set.paths, ['/b/1', '/c/1', '/d/1', '/e/1', '/f/1'])
  t.equal(set.skipped, 2, 'the booleans of a and e have no rule')
  const objects = collect(planOf(schema), { d: { name: 'x', '@id': '/d/2' } })
  t.same(objects.paths, [], 'd: the object branch has no @id, so objects have no rule')
  t.equal(objects.skipped, 1)
})

t.test('an annotation on an array and a different one on its items fail at startup, naming route, response and pointer', async (t) => {
  const problem = (kind: string): string => `the array and its items have two different x-push annotations for the same ${kind} value; keep one`
  const cases: Array<[string, unknown, string, string]> = [
    ['the issue\'s shape', Type.Object({ authors: Push(Type.Array(Push(Type.Integer(), '/authors/{id}')), '/people/{id}') }), '/authors/*', problem('number')],
    ['different parameters', Type.Object({ reviews: Push(Type.Array(Push(Type.String(), { nopush: true }))) }), '/reviews/*', problem('string')],
    ['a root array of objects', Push(Type.Array(Push(Type.Object({ '@id': Type.String(), id: Type.Integer() }), '/o/{id}'))), '/*', problem('object')],
    ['a tuple element', Type.Object({ pair: Push(Type.Tuple([Type.String(), Push(Type.String(), '/s/{x}')])) }), '/pair/1', problem('string')],
    ['through a $ref', Type.Object({ list: Push(Type.Array(Type.Ref('Item')), '/a/{id}') }), '/list/*', problem('number')]
  ]
  for (const [name, schema, pointer, message] of cases) {
    t.has(routeError(schema, {}, { Item: { type: 'integer', 'x-push': '/b/{id}' } }), invalid(pointer, message), name)
  }
})

t.test('an annotation on an array and the same one on its items, or ones for different kinds, give one link per element', async (t) => {
  const same = Type.Object({ authors: Push(Type.Array(Push(Type.Integer(), '/authors/{id}')), '/authors/{id}') })
  t.equal(routeError(same), null)
  const set = collect(planOf(same), { authors: [1, 2] })
  t.same(set.entries, ['</authors/1>; rel=preload; as=fetch', '</authors/2>; rel=preload; as=fetch'])
  const kinds = Type.Object({ x: Push(Type.Array(Type.Union([Type.String(), Push(Type.Integer(), '/n/{id}')]))) })
  t.equal(routeError(kinds), null)
  t.same(links(kinds, { x: ['/s/1', 2] }), ['/s/1', '/n/2'])
})
