// The schema compiler (lib/compile/schema-compiler.ts), on real schemas (TypeBox 0.34 and plain JSON
// Schema): the plan nodes it builds, what pruning keeps, and for each shape of the contract's
// "Where annotations are found", (a) the payload pointers of the plan and (b) the links collected
// from sample payloads along it. `$ref` resolution is tested in schema-resolver.test.ts, the
// annotations and their startup errors in link-rules.test.ts.
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { planPointers } from '../../lib/compile/schema-compiler.js'
import { Push } from '../../lib/annotation/push.js'
import { collect, compile, links, planOf, pointers } from '../helpers/plans.js'
import type { PlanNode } from '../../lib/plan/plan-node.js'

const Iri = Type.String({ 'x-push': true })
const Book = Type.Object({
  '@id': Type.String(),
  title: Type.String(),
  author: Type.String({ 'x-push': true }),
  reviews: Push(Type.Array(Type.String()))
})
const book = { '@id': '/books/1', title: 'Dune', author: '/authors/1', reviews: ['/reviews/7', '/reviews/8'] }
const PLAIN_RULE = { template: null, params: '; rel=preload; as=fetch', nopush: false }

/** The child node of a property, failing the test when the plan has none. */
function property (node: PlanNode | null, name: string): PlanNode {
  const child = node?.properties?.find(([key]) => key === name)?.[1]
  if (child === undefined) throw new Error(`no property ${name} in the plan`)
  return child
}

/** A plan's patterns as `[source, flags, 'node' | null]`, for comparison. */
function patternsOf (node: PlanNode): Array<[string, string, 'node' | null]> | null {
  return node.patterns?.map(([regexp, child]) => [regexp.source, regexp.flags, child === null ? null : 'node']) ?? null
}

t.test('the quick start: a string field and an annotated array', async (t) => {
  t.same(pointers(Book), ['/author', '/reviews'])
  const set = collect(planOf(Book), book)
  t.same(set.paths, ['/authors/1', '/reviews/7', '/reviews/8'])
  t.same(set.entries, [
    '</authors/1>; rel=preload; as=fetch',
    '</reviews/7>; rel=preload; as=fetch',
    '</reviews/8>; rel=preload; as=fetch'
  ])
  // the IRI of the book itself is not annotated
  t.notOk(set.paths.includes('/books/1'))
})

t.test('a schema that is not an object compiles to no plan', async (t) => {
  t.same(compile(undefined), { plan: null, unresolved: [] })
  t.same(compile(true), { plan: null, unresolved: [] })
  t.same(compile([Iri]), { plan: null, unresolved: [] })
})

t.test('plan nodes', async (t) => {
  t.test('link holds one rule per kind of value', async (t) => {
    const plan = planOf(Type.Object({ a: Iri, any: Type.Any({ 'x-push': true }), title: Type.String() }))
    t.same(property(plan, 'a').link, { string: PLAIN_RULE, number: null, object: null }, 'a string field: the string rule only')
    const any = property(plan, 'any').link
    t.same(any, { string: PLAIN_RULE, number: PLAIN_RULE, object: PLAIN_RULE }, 'an untyped field: every kind')
    t.equal(any?.string, any?.number, 'the same rule for each kind')
    t.equal(plan.link, null, 'the root is no relation')
  })

  t.test('every field of a fresh node', async (t) => {
    const plan = planOf(Type.Object({ a: Iri }))
    t.same(Object.keys(plan).sort(), ['additional', 'declared', 'items', 'link', 'patterns', 'prefixItems', 'properties'])
    t.notOk('declaredPatterns' in plan, 'declaredPatterns is gone: patterns holds every pattern')
  })
})

t.test('pruning', async (t) => {
  t.test('a schema without annotations gives a null plan', async (t) => {
    t.same(compile(Type.Object({ '@id': Type.String(), tags: Type.Array(Type.String()), meta: Type.Record(Type.String(), Type.String()) })),
      { plan: null, unresolved: [] })
    t.equal(compile(Type.Object({ author: Type.String({ 'x-push': false }) })).plan, null)
    t.equal(compile({
      type: 'object',
      properties: { self: { type: 'string' } },
      patternProperties: { '^x-': { type: 'string' } },
      additionalProperties: { type: 'string' }
    }).plan, null, 'nor do properties, patterns and additionalProperties without relations')
  })

  t.test('subtrees without annotations are not in the plan', async (t) => {
    const plan = planOf(Type.Object({
      title: Type.String(),
      meta: Type.Object({ created: Type.String(), tags: Type.Array(Type.String()) }),
      extra: Type.Record(Type.String(), Type.Object({ x: Type.String() })),
      pair: Type.Tuple([Type.String(), Type.String()]),
      data: Type.Object({ author: Iri, other: Type.Object({ deep: Type.String() }) })
    }))
    t.same(plan.properties?.map(([name]) => name), ['data'])
    t.equal(plan.link, null)
    t.equal(plan.additional, null)
    t.equal(plan.patterns, null, 'no pattern or additionalProperties holds relations')
    // the walk reads declared names only to skip them before patterns and additionalProperties
    t.equal(plan.declared, null, 'no pattern or additionalProperties holds relations: declared names are not needed')
    t.equal(plan.items, null)
    t.equal(plan.prefixItems, null)
    const data = property(plan, 'data')
    t.same(data.properties?.map(([name]) => name), ['author'])
    t.same(planPointers(plan), ['/data/author'])
  })

  t.test('a node with nothing but a link forgets its declared names', async (t) => {
    const plan = planOf(Type.Object({ author: Type.Object({ '@id': Type.String(), name: Type.String() }, { 'x-push': true }) }))
    const author = property(plan, 'author')
    t.same(author.link?.object, PLAIN_RULE)
    t.equal(author.properties, null)
    t.equal(author.declared, null)
    t.equal(author.patterns, null)
  })

  t.test('a tuple keeps the index of its live elements only', async (t) => {
    const plan = planOf(Type.Tuple([Type.String(), Iri, Type.Object({ x: Type.String() })]))
    t.same(plan.prefixItems?.map((node) => node === null ? null : node.link === null ? 'node' : 'link'), [null, 'link', null])
    t.equal(plan.items, null)
    t.equal(compile(Type.Tuple([Type.String(), Type.Object({ x: Type.String() })])).plan, null, 'a tuple without relations')
  })

  t.test('patterns: all of them, in order, once one pattern or additionalProperties is live', async (t) => {
    const Dead = { type: 'string' }
    const live = planOf({ type: 'object', properties: { self: Iri }, patternProperties: { '^x-': Dead, '^y': Iri, '^z': { type: 'object', properties: { a: Dead } } } })
    t.same(patternsOf(live), [['^x-', '', null], ['^y', '', 'node'], ['^z', '', null]], 'dead patterns map to null, in place')
    t.same(live.declared, new Set(['self']))
    t.equal(live.additional, null)

    const additional = planOf({ type: 'object', properties: { self: Dead }, patternProperties: { '^x-': Dead }, additionalProperties: Iri })
    t.same(patternsOf(additional), [['^x-', '', null]], 'a live additionalProperties keeps the dead patterns that shadow it')
    t.same(additional.additional?.link?.string, PLAIN_RULE)
    t.same(additional.declared, new Set(['self']), 'a declared name without relations is still declared')
    t.equal(additional.properties, null)

    const onlyAdditional = planOf({ type: 'object', additionalProperties: Iri })
    t.same(onlyAdditional.patterns, [], 'no pattern at all: an empty list beside a live additionalProperties')
    t.equal(onlyAdditional.declared, null, 'no declared names')

    const none = planOf({ type: 'object', properties: { self: Iri }, patternProperties: { '^x-': Dead }, additionalProperties: Dead })
    t.equal(none.patterns, null, 'nothing live past the declared names: no patterns')
    t.equal(none.additional, null)
    t.equal(none.declared, null, 'declared names are only kept for patterns and additionalProperties')
  })

  t.test('the same pattern in several schemas is one entry', async (t) => {
    const Sub = (name: string): unknown => ({ type: 'object', properties: { [name]: Iri } })
    const schema = { allOf: [{ type: 'object', patternProperties: { '^a': Sub('x') } }, { patternProperties: { '^a': Sub('y'), '^b': Sub('z') } }] }
    const plan = planOf(schema)
    t.same(patternsOf(plan), [['^a', '', 'node'], ['^b', '', 'node']])
    t.same(planPointers(plan), ['/*/x', '/*/y', '/*/z'])
    t.same(links(schema, { a1: { x: '/x', y: '/y', z: '/not' }, b1: { x: '/not', z: '/z' } }), ['/x', '/y', '/z'])
  })
})

t.test('nested objects', async (t) => {
  const schema = Type.Object({ data: Type.Object({ book: Type.Object({ author: Iri, title: Type.String() }) }) })
  t.same(pointers(schema), ['/data/book/author'])
  t.same(links(schema, { data: { book: { author: '/authors/2', title: 'x' } } }), ['/authors/2'])
  t.same(links(schema, { data: { book: 'not an object' } }), [])
  t.same(links(schema, { data: null }), [])
})

t.test('arrays of objects', async (t) => {
  t.test('a { member: [...] } collection', async (t) => {
    const schema = Type.Object({ '@id': Type.String(), member: Type.Array(Book), totalItems: Type.Integer() })
    t.same(pointers(schema), ['/member/*/author', '/member/*/reviews'])
    t.same(links(schema, {
      '@id': '/books',
      member: [book, { ...book, author: '/authors/2', reviews: ['/reviews/7', '/reviews/9'] }],
      totalItems: 2
    }), ['/authors/1', '/reviews/7', '/reviews/8', '/authors/2', '/reviews/9'])
  })

  t.test('a root array', async (t) => {
    const schema = Type.Array(Book)
    t.same(pointers(schema), ['/*/author', '/*/reviews'])
    t.same(links(schema, [book, { ...book, author: '/authors/3', reviews: [] }]), ['/authors/1', '/reviews/7', '/reviews/8', '/authors/3'])
  })

  t.test('annotated items', async (t) => {
    const schema = Type.Object({ reviews: Type.Array(Iri) })
    t.same(pointers(schema), ['/reviews/*'])
    t.same(links(schema, { reviews: ['/reviews/1', '/reviews/2'] }), ['/reviews/1', '/reviews/2'])
  })

  t.test('an annotated array of embedded objects', async (t) => {
    const Author = Type.Object({ '@id': Type.String(), name: Type.String() })
    const schema = Type.Object({ authors: Type.Array(Author, { 'x-push': true }) })
    t.same(pointers(schema), ['/authors'])
    t.same(links(schema, { authors: [{ '@id': '/authors/1', name: 'a' }, { name: 'no iri' }, { '@id': '/authors/2', name: 'b' }] }),
      ['/authors/1', '/authors/2'])
  })
})

t.test('Type.Optional: a missing field is skipped, not counted', async (t) => {
  const schema = Type.Object({ author: Type.Optional(Iri), editor: Type.Optional(Push(Type.String())) })
  t.same(pointers(schema), ['/author', '/editor'])
  const set = collect(planOf(schema), { editor: '/people/1' })
  t.same(set.paths, ['/people/1'])
  t.equal(set.skipped, 0)
})

t.test('unions: every branch is followed', async (t) => {
  t.test('T | null', async (t) => {
    const schema = Type.Object({ author: Type.Union([Iri, Type.Null()]) })
    t.same(pointers(schema), ['/author'])
    t.same(links(schema, { author: '/authors/1' }), ['/authors/1'])
    const set = collect(planOf(schema), { author: null })
    t.same(set.paths, [])
    t.equal(set.skipped, 1, 'null is skipped')
  })

  t.test('annotation on the union itself: string | null', async (t) => {
    const schema = Type.Object({ author: Type.Union([Type.String(), Type.Null()], { 'x-push': true }) })
    t.same(pointers(schema), ['/author'])
    t.same(links(schema, { author: '/authors/4' }), ['/authors/4'])
  })

  t.test('anyOf branches of different objects', async (t) => {
    const schema = Type.Object({
      owner: Type.Union([
        Type.Object({ kind: Type.Literal('person'), profile: Iri }),
        Type.Object({ kind: Type.Literal('org'), logo: Push(Type.String()), members: Type.Array(Iri) })
      ])
    })
    t.same(pointers(schema), ['/owner/profile', '/owner/logo', '/owner/members/*'])
    t.same(links(schema, { owner: { kind: 'person', profile: '/profiles/1' } }), ['/profiles/1'])
    t.same(links(schema, { owner: { kind: 'org', logo: '/logos/1', members: ['/people/1'] } }), ['/logos/1', '/people/1'])
  })

  t.test('oneOf in plain JSON Schema', async (t) => {
    const schema = {
      type: 'object',
      properties: {
        item: {
          oneOf: [
            { type: 'object', properties: { a: { type: 'string', 'x-push': true } } },
            { type: 'object', properties: { b: { type: 'integer', 'x-push': '/b/{id}' } } },
            true
          ]
        }
      }
    }
    t.same(pointers(schema), ['/item/a', '/item/b'])
    t.same(links(schema, { item: { a: '/a/1' } }), ['/a/1'])
    t.same(links(schema, { item: { b: 2 } }), ['/b/2'])
  })

  t.test('a root union of arrays', async (t) => {
    const schema = Type.Union([Type.Array(Book), Type.Object({ member: Type.Array(Book) })])
    t.same(pointers(schema), ['/member/*/author', '/member/*/reviews', '/*/author', '/*/reviews'])
    t.same(links(schema, [book]), ['/authors/1', '/reviews/7', '/reviews/8'])
    t.same(links(schema, { member: [book] }), ['/authors/1', '/reviews/7', '/reviews/8'])
  })

  t.test('one annotated branch makes the union a relation for its type only', async (t) => {
    const schema = Type.Object({ author: Type.Union([Iri, Type.Integer()]) })
    const set = collect(planOf(schema), { author: 7 })
    t.same(set.paths, [], 'an integer without template is no link')
    t.equal(set.skipped, 1)
  })
})

t.test('Type.Intersect (allOf)', async (t) => {
  const schema = Type.Intersect([
    Type.Object({ '@id': Type.String(), author: Iri }),
    Type.Object({ publisher: Push(Type.String()), shared: Type.String() }),
    Type.Object({ shared: Type.String({ 'x-push': true }) })
  ])
  t.same(pointers(schema), ['/author', '/publisher', '/shared'])
  t.same(links(schema, { '@id': '/books/1', author: '/authors/1', publisher: '/publishers/1', shared: '/s/1' }),
    ['/authors/1', '/publishers/1', '/s/1'])
  // the same annotation twice is fine
  t.same(pointers({ allOf: [{ type: 'string', 'x-push': true }, { 'x-push': true }, { 'x-push': false }] }), [''])
})

t.test('Type.Record, patternProperties, additionalProperties: as the serializer reads them', async (t) => {
  t.test('Type.Record of IRIs', async (t) => {
    const schema = Type.Object({ byLanguage: Type.Record(Type.String(), Iri) })
    t.same(pointers(schema), ['/byLanguage/*'])
    t.same(links(schema, { byLanguage: { en: '/books/1', fr: '/books/2' } }), ['/books/1', '/books/2'])
  })

  t.test('Type.Record of objects, numeric keys', async (t) => {
    const schema = Type.Record(Type.Number(), Book)
    t.same(pointers(schema), ['/*/author', '/*/reviews'])
    t.same(links(schema, { 1: book, x: { author: '/authors/9' } }), ['/authors/1', '/reviews/7', '/reviews/8'],
      'a key the pattern does not match is not followed')
  })

  t.test('additionalProperties', async (t) => {
    const schema = Type.Object({ name: Type.String() }, { additionalProperties: Iri })
    t.same(pointers(schema), ['/*'])
    t.same(links(schema, { name: '/not/a/link', a: '/x/1', b: '/x/2' }), ['/x/1', '/x/2'],
      'additionalProperties does not apply to a declared name without relations')
  })

  t.test('declared names are never matched by patterns or additionalProperties', async (t) => {
    const schema = {
      type: 'object',
      properties: { 'x-plain': { type: 'string' }, 'x-self': { type: 'string', 'x-push': '/self/{s}' } },
      patternProperties: { '^x-': { type: 'string', 'x-push': true } },
      additionalProperties: { type: 'string', 'x-push': true }
    }
    t.same(pointers(schema), ['/x-self', '/*'])
    const set = collect(planOf(schema), { 'x-plain': '/not/a/link', 'x-self': 's1', 'x-other': '/x/1', other: '/o/1' })
    t.same(set.paths, ['/self/s1', '/x/1', '/o/1'], 'x-self is read once, with its own annotation')
    t.equal(set.skipped, 0)
  })

  t.test('the first matching pattern decides, even one without relations', async (t) => {
    const schema = {
      type: 'object',
      properties: { self: { type: 'string', 'x-push': true } },
      patternProperties: { '^x-': { type: 'string' } },
      additionalProperties: { type: 'string', 'x-push': true }
    }
    t.same(pointers(schema), ['/self', '/*'])
    const plan = planOf(schema)
    t.same(patternsOf(plan), [['^x-', '', null]], 'the pattern has no relations but stays, mapped to null')
    t.same(plan.declared, new Set(['self']))
    t.same(collect(plan, { self: '/s/1', 'x-count': '/not/a/link', other: '/o/1' }).paths, ['/s/1', '/o/1'])
  })

  t.test('patternProperties with relations, and additionalProperties', async (t) => {
    const schema = {
      type: 'object',
      patternProperties: {
        '^a': { type: 'string', 'x-push': true },
        '^ab': { type: 'integer', 'x-push': '/ab/{n}' },
        '^z': { type: 'string' }
      },
      additionalProperties: { type: 'string', 'x-push': true }
    }
    t.same(pointers(schema), ['/*'])
    t.same(patternsOf(planOf(schema)), [['^a', '', 'node'], ['^ab', '', 'node'], ['^z', '', null]])
    const set = collect(planOf(schema), { a1: '/a/1', ab: 2, abc: '/abc/1', z: '/not/a/link', q: '/q/1' })
    t.same(set.paths, ['/a/1', '/abc/1', '/q/1'], '^a shadows ^ab: "ab" is read as a string field')
    t.equal(set.skipped, 1, 'the number under ^a has no rule of its kind')
  })

  t.test('an invalid patternProperties regex is ignored', async (t) => {
    const schema = { type: 'object', patternProperties: { '(': { type: 'string', 'x-push': true }, '^ok$': { type: 'string', 'x-push': true } } }
    t.same(pointers(schema), ['/*'])
    const plan = planOf(schema)
    t.same(patternsOf(plan), [['^ok$', '', 'node']])
    t.same(collect(plan, { '(': '/x/1', ok: '/ok/1' }).paths, ['/ok/1'])
    t.equal(pointers({ type: 'object', patternProperties: { '[': { type: 'string', 'x-push': true } } }), null)
  })

  t.test('patterns are compiled without the u flag, like the serializer compiles them', async (t) => {
    // `\-` is an identity escape, invalid with the u flag; fast-json-stringify writes `/^x\-/`
    const schema = { type: 'object', patternProperties: { '^x\\-': { type: 'string', 'x-push': true } } }
    t.same(pointers(schema), ['/*'])
    t.same(patternsOf(planOf(schema)), [['^x\\-', '', 'node']])
    t.same(links(schema, { 'x-1': '/x/1', y: '/y/1' }), ['/x/1'])
    // without u, `\p{Lu}` is the letter p and a quantifier-less brace: "p{Lu}" itself, not an upper-case letter
    const unicode = { type: 'object', patternProperties: { '^\\p{Lu}': { type: 'string', 'x-push': true } } }
    t.same(links(unicode, { É: '/not/a/link', 'p{Lu}x': '/p/1' }), ['/p/1'])
  })
})

t.test('tuples', async (t) => {
  t.test('draft-07 Type.Tuple (items array, additionalItems: false)', async (t) => {
    const schema = Type.Tuple([Type.String(), Iri])
    t.same(pointers(schema), ['/1'])
    t.same(links(schema, ['/a/0', '/a/1', '/a/2']), ['/a/1'])
  })

  t.test('draft-07 items array with additionalItems', async (t) => {
    const schema = { type: 'array', items: [{ type: 'string', 'x-push': true }, { type: 'string' }], additionalItems: { type: 'integer', 'x-push': '/pages/{n}' } }
    t.same(pointers(schema), ['/0', '/*'])
    t.same(links(schema, ['/a/0', '/not/a/link', 3, 4]), ['/a/0', '/pages/3', '/pages/4'])
  })

  t.test('2020-12 prefixItems and items', async (t) => {
    const schema = { type: 'array', prefixItems: [{ type: 'string' }, { type: 'string', 'x-push': true }], items: { type: 'string', 'x-push': true } }
    t.same(pointers(schema), ['/1', '/*'])
    t.same(links(schema, ['/not/a/link', '/b/1', '/c/1']), ['/b/1', '/c/1'])
  })

  t.test('a tuple of embedded objects', async (t) => {
    const schema = Type.Object({ pair: Type.Tuple([Type.Object({ '@id': Type.String(), next: Iri }), Type.Null()]) })
    t.same(pointers(schema), ['/pair/0/next'])
    t.same(links(schema, { pair: [{ '@id': '/p/1', next: '/p/2' }, null] }), ['/p/2'])
  })

  t.test('a sparse items array (holes are no schema)', async (t) => {
    const items: unknown[] = []
    items[1] = { type: 'string', 'x-push': true }
    t.same(pointers({ type: 'array', items }), ['/1'])
    t.same(links({ type: 'array', items }, ['/a', '/b']), ['/b'])
  })

  t.test('two tuples merged by allOf', async (t) => {
    const schema = { allOf: [{ type: 'array', items: [{ type: 'string', 'x-push': true }] }, { prefixItems: [{ type: 'string' }, { type: 'string', 'x-push': true }] }] }
    t.same(pointers(schema), ['/0', '/1'])
    t.same(links(schema, ['/a', '/b', '/c']), ['/a', '/b'])
  })
})

t.test('a union of tuples and lists: each schema contributes its member at an index, or else its rest', async (t) => {
  t.test('a tuple and a list', async (t) => {
    const schema = Type.Union([Type.Tuple([Type.String(), Iri]), Type.Array(Iri)])
    t.same(pointers(schema), ['/0', '/1', '/*'])
    const plan = planOf(schema)
    t.same(plan.prefixItems?.map((node) => node?.link?.string), [PLAIN_RULE, PLAIN_RULE], 'index 0: the tuple\'s string and the list\'s IRI')
    t.same(plan.items?.link?.string, PLAIN_RULE, 'past the tuple: the list\'s items')
    t.same(links(schema, ['/a', '/b', '/c']), ['/a', '/b', '/c'])
  })

  t.test('two closed tuples of different lengths', async (t) => {
    const schema = Type.Union([Type.Tuple([Iri]), Type.Tuple([Type.String(), Type.String(), Iri])])
    t.same(pointers(schema), ['/0', '/2'])
    t.equal(planOf(schema).items, null, 'no schema has a rest')
    t.same(links(schema, ['/a', '/b', '/c', '/d']), ['/a', '/c'])
  })

  t.test('a 2020-12 tuple with a rest and a draft-07 tuple', async (t) => {
    const schema = {
      anyOf: [
        { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'string', 'x-push': true } },
        { type: 'array', items: [{ type: 'integer', 'x-push': '/n/{id}' }], additionalItems: false }
      ]
    }
    t.same(pointers(schema), ['/0', '/*'])
    t.same(links(schema, [5, '/b', '/c']), ['/n/5', '/b', '/c'])
    const set = collect(planOf(schema), ['/a', '/b'])
    t.same(set.paths, ['/b'], 'a string at index 0 is no relation in either schema')
    t.equal(set.skipped, 1)
  })
})

t.test('if / then / else: both branches are followed', async (t) => {
  const schema = {
    type: 'object',
    properties: { kind: { type: 'string' } },
    if: { properties: { kind: { const: 'a' } } },
    then: { properties: { a: { type: 'string', 'x-push': true } } },
    else: { properties: { b: { type: 'string', 'x-push': true } } }
  }
  t.same(pointers(schema), ['/a', '/b'])
  t.same(links(schema, { kind: 'a', a: '/a/1' }), ['/a/1'])
  t.same(links(schema, { kind: 'b', b: '/b/1' }), ['/b/1'])
  t.equal(pointers({ type: 'object', then: true, else: { type: 'object' } }), null)
})

t.test('recursive schemas', async (t) => {
  const Node = Type.Recursive((This) => Type.Object({ href: Iri, next: Type.Optional(This) }))
  const Tree = Type.Recursive((This) => Type.Object({ id: Iri, children: Type.Array(This) }))
  const Category = Type.Recursive((This) => Type.Object({ '@id': Type.String(), parent: Type.Optional(Push(This)) }))

  t.test('compiling terminates; pointers end in /**', async (t) => {
    t.same(pointers(Node), ['/href', '/next/**'])
    t.same(pointers(Tree), ['/id', '/children/*/**'])
    t.same(pointers(Category), ['/parent', '/parent/parent/**'])
    t.same(pointers({ $id: 'R', type: 'object', properties: { self: { $ref: 'R' }, x: { type: 'string' } } }), null,
      'a recursive schema without annotations has no plan')
  })

  t.test('the plan is a cycle', async (t) => {
    const plan = planOf(Node)
    t.equal(property(plan, 'next'), plan, 'next leads back to the root node')
  })

  t.test('links are collected as deep as the data goes', async (t) => {
    t.same(links(Tree, {
      id: '/t/1',
      children: [{ id: '/t/2', children: [{ id: '/t/3', children: [] }] }, { id: '/t/4', children: [] }]
    }), ['/t/1', '/t/2', '/t/3', '/t/4'])
    t.same(links(Category, { '@id': '/c/3', parent: { '@id': '/c/2', parent: { '@id': '/c/1' } } }), ['/c/2', '/c/1'])
  })

  t.test('mutual recursion through definitions', async (t) => {
    const schema = {
      $ref: '#/definitions/a',
      definitions: {
        a: { type: 'object', properties: { self: { type: 'string', 'x-push': true }, b: { $ref: '#/definitions/b' } } },
        b: { type: 'object', properties: { a: { $ref: '#/definitions/a' } } }
      }
    }
    t.same(pointers(schema), ['/self', '/b/a/self', '/b/a/b/**'])
    t.same(links(schema, { self: '/1', b: { a: { self: '/2', b: { a: { self: '/3' } } } } }), ['/1', '/2', '/3'])
  })

  t.test('recursion through a pattern', async (t) => {
    const schema = { $id: 'Dir', type: 'object', properties: { self: Iri }, patternProperties: { '^sub-': { $ref: 'Dir' }, '^tmp-': { type: 'object' } } }
    t.same(pointers(schema), ['/self', '/*/**'])
    t.same(links(schema, { self: '/d/1', 'sub-a': { self: '/d/2', 'tmp-x': { self: '/not' }, 'sub-b': { self: '/d/3' } } }), ['/d/1', '/d/2', '/d/3'])
  })
})

t.test('planPointers', async (t) => {
  t.same(planPointers(planOf({ type: 'object', patternProperties: { '^a': Iri, '^b': Iri }, additionalProperties: Iri })), ['/*'],
    'patterns and additionalProperties all read as /*, listed once')
  t.same(planPointers(planOf(Type.Object({ 'a/b': Type.Object({ '~': Type.Object({ '*': Iri }) }) }))), ['/a~1b/~0/~2'], 'escaped tokens')
  t.same(planPointers(planOf(Iri)), [''], 'the root itself')
})
