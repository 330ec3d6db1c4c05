// lib/compile/schema-resolver.ts: `$ref` as Fastify resolves it (shared schemas through getSchema, local
// `$id`s, anchors, JSON pointers), first through compiled plans, then on the resolver itself.
import t from 'tap'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import pushRelations from '../../lib/index.js'
import { compileResponseSchema, planPointers } from '../../lib/compile/schema-compiler.js'
import { resolveOptions } from '../../lib/options.js'
import { SchemaResolver, isSchemaObject, type Fragment, type SchemaObject } from '../../lib/compile/schema-resolver.js'
import { compile, links, pointers, site, stub, type Shared } from '../helpers/plans.js'

const Iri = Type.String({ 'x-push': true })

/** Compiles with a recording getSchema: the pointers, the unresolved `$ref`s and the ids asked for. */
function traced (schema: unknown, shared: Shared = {}): { pointers: string[] | null, unresolved: readonly string[], asked: string[] } {
  const { getSchema, asked } = stub(shared)
  const result = compileResponseSchema(schema, getSchema, resolveOptions(), site, () => new Error('unexpected'))
  return { pointers: result.plan === null ? null : planPointers(result.plan), unresolved: result.unresolved, asked }
}

t.test('$ref to shared schemas (getSchema)', async (t) => {
  const Author = Type.Object({ '@id': Type.String(), name: Type.String() }, { $id: 'Author' })
  const SharedBook = Type.Object({ '@id': Type.String(), author: Iri }, { $id: 'Book' })

  t.test('Type.Ref with an annotation beside it', async (t) => {
    const schema = Type.Object({ author: Type.Ref('Author', { 'x-push': true }) })
    t.same(pointers(schema, { Author }), ['/author'])
    t.same(links(schema, { author: { '@id': '/authors/1', name: 'a' } }, { Author }), ['/authors/1'])
  })

  t.test('annotations inside the shared schema', async (t) => {
    const schema = Type.Object({ member: Type.Array(Type.Ref('Book')) })
    t.same(pointers(schema, { Book: SharedBook }), ['/member/*/author'])
    t.same(links(schema, { member: [{ '@id': '/books/1', author: '/authors/1' }] }, { Book: SharedBook }), ['/authors/1'])
  })

  t.test('Name# and Name#/properties/x', async (t) => {
    t.same(pointers({ type: 'object', properties: { author: { $ref: 'Author#', 'x-push': true } } }, { Author }), ['/author'])
    const schema = { type: 'object', properties: { writer: { $ref: 'Book#/properties/author' } } }
    t.same(pointers(schema, { Book: SharedBook }), ['/writer'])
    t.same(links(schema, { writer: '/authors/5' }, { Book: SharedBook }), ['/authors/5'])
  })

  t.test('a shared schema that refers to its own definitions', async (t) => {
    const Shelf = { $id: 'Shelf', type: 'object', definitions: { iri: { type: 'string', 'x-push': true } }, properties: { books: { type: 'array', items: { $ref: '#/definitions/iri' } } } }
    t.same(pointers({ $ref: 'Shelf' }, { Shelf }), ['/books/*'])
    t.same(links({ $ref: 'Shelf' }, { books: ['/books/1'] }, { Shelf }), ['/books/1'])
  })

  t.test('relative ids resolve against an absolute $id base, then as written', async (t) => {
    const remoteAuthor = { type: 'object', properties: { '@id': { type: 'string' }, avatar: { type: 'string', 'x-push': true } } }
    const schema = {
      $id: 'http://example.com/schemas/book.json',
      type: 'object',
      properties: {
        author: { $ref: 'author.json' },
        plain: { $ref: 'Author', 'x-push': true }
      }
    }
    const shared = { 'http://example.com/schemas/author.json': remoteAuthor, Author }
    const result = traced(schema, shared)
    t.same(result.unresolved, [])
    t.same(result.pointers, ['/author/avatar', '/plain'])
    t.same(new Set(result.asked), new Set(['http://example.com/schemas/author.json', 'http://example.com/schemas/Author', 'Author']),
      'author.json is found by its absolute id, Author by the id as written')
    t.same(links(schema, { author: { '@id': '/a', avatar: '/avatars/1' }, plain: { '@id': '/authors/1' } }, shared),
      ['/avatars/1', '/authors/1'])
  })

  t.test('a shared schema used twice is compiled once', async (t) => {
    const schema = Type.Object({ a: Type.Ref('Book'), b: Type.Array(Type.Ref('Book')) })
    const result = traced(schema, { Book: SharedBook })
    t.same(result.pointers, ['/a/author', '/b/*/author'])
    t.same(result.asked, ['Book'], 'looked up once, then known')
  })

  t.test('an unresolvable $ref is reported, the rest still compiles', async (t) => {
    const schema = Type.Object({ author: Iri, missing: Type.Ref('Missing'), again: Type.Ref('Missing') })
    t.same(compile(schema).unresolved, ['Missing'])
    t.same(pointers(schema), ['/author'])
    t.same(compile(Type.Ref('Missing')), { plan: null, unresolved: ['Missing'] })
    t.same(compile({ $ref: 'NotASchema' }, { NotASchema: 'a string' }).unresolved, ['NotASchema'], 'a shared value that is not a schema')
  })
})

t.test('local $ids', async (t) => {
  t.test('a subschema with its own $id', async (t) => {
    const schema = {
      type: 'object',
      definitions: { author: { $id: 'LocalAuthor', type: 'object', properties: { '@id': { type: 'string' } } } },
      properties: { author: { $ref: 'LocalAuthor', 'x-push': true } }
    }
    const result = traced(schema)
    t.same(result.pointers, ['/author'])
    t.same(result.asked, [], 'not looked up in the shared schemas')
    t.same(links(schema, { author: { '@id': '/authors/1' } }), ['/authors/1'])
  })

  t.test('a local $id under an absolute base, referred to by its relative and its absolute form', async (t) => {
    const schema = {
      $id: 'http://example.com/root.json',
      type: 'object',
      properties: {
        inline: { $id: 'tag.json', type: 'object', properties: { self: { type: 'string', 'x-push': true } } },
        a: { $ref: 'tag.json' },
        b: { $ref: 'http://example.com/tag.json#/properties/self' }
      }
    }
    t.same(pointers(schema), ['/inline/self', '/a/self', '/b'])
  })

  t.test('a relative $id is registered under its absolute id and as written', async (t) => {
    // the shared schema has an absolute base; the response schema, without $id, has none
    const Catalog = { $id: 'http://example.com/catalog.json', definitions: { tag: { $id: 'tag.json', type: 'string', 'x-push': true } } }
    const schema = {
      type: 'object',
      properties: {
        catalog: { $ref: 'http://example.com/catalog.json' },
        written: { $ref: 'tag.json' },
        absolute: { $ref: 'http://example.com/tag.json' }
      }
    }
    const result = traced(schema, { 'http://example.com/catalog.json': Catalog })
    t.same(result.unresolved, [])
    t.same(result.pointers, ['/written', '/absolute'])
    t.same(result.asked, ['http://example.com/catalog.json'], 'both forms are found locally')
  })

  t.test('a relative $ref inside a local $id resolves against that $id', async (t) => {
    const schema = {
      $id: 'http://example.com/a/root.json',
      type: 'object',
      properties: {
        nested: {
          $id: 'http://example.com/b/nested.json',
          type: 'object',
          definitions: { iri: { type: 'string', 'x-push': true } },
          properties: { x: { $ref: '#/definitions/iri' }, y: { $ref: 'nested.json#/definitions/iri' } }
        }
      }
    }
    t.same(pointers(schema), ['/nested/x', '/nested/y'])
  })

  t.test('$id inside data keywords means nothing', async (t) => {
    const schema = {
      type: 'object',
      default: { $id: 'Fake', type: 'string', 'x-push': true },
      examples: [{ $id: 'Fake' }],
      properties: { a: { $ref: 'Fake' } }
    }
    t.same(compile(schema).unresolved, ['Fake'])
    t.equal(compile(schema).plan, null)
  })
})

t.test('local JSON pointers', async (t) => {
  const schema = {
    type: 'object',
    definitions: {
      'a/b': { type: 'string', 'x-push': true },
      'c~d': { type: 'integer', 'x-push': '/c/{id}' },
      'e f': { type: 'string', 'x-push': true },
      list: [{ type: 'string', 'x-push': true }]
    },
    $defs: { author: { type: 'object', properties: { '@id': { type: 'string' } }, 'x-push': true } },
    properties: {
      slash: { $ref: '#/definitions/a~1b' },
      tilde: { $ref: '#/definitions/c~0d' },
      space: { $ref: '#/definitions/e%20f' },
      index: { $ref: '#/definitions/list/0' },
      author: { $ref: '#/$defs/author' },
      self: { $ref: '#' },
      bad: { $ref: '#/definitions/%E0%A4%A' },
      missing: { $ref: '#/definitions/nope' },
      notSchema: { $ref: '#/definitions/list' },
      tooDeep: { $ref: '#/definitions/e%20f/type/x' }
    }
  }
  t.same(compile(schema).unresolved, ['#/definitions/%E0%A4%A', '#/definitions/nope', '#/definitions/list', '#/definitions/e%20f/type/x'])
  t.same(pointers(schema), ['/slash', '/tilde', '/space', '/index', '/author', '/self/**'])
  t.same(links(schema, { slash: '/s/1', tilde: 2, space: '/sp/1', index: '/i/1', author: { '@id': '/authors/1' }, self: { slash: '/s/2' } }),
    ['/s/1', '/c/2', '/sp/1', '/i/1', '/authors/1', '/s/2'])
  t.same(pointers({ type: 'object', definitions: { iri: Iri }, properties: { encoded: { $ref: '#%2Fdefinitions%2Firi' } } }), ['/encoded'],
    'a percent-encoded pointer')
})

t.test('anchors', async (t) => {
  t.test('$anchor (2019-09 and later)', async (t) => {
    const schema = {
      type: 'object',
      $defs: { a: { $anchor: 'author', type: 'string', 'x-push': true } },
      properties: { author: { $ref: '#author' }, editor: { type: 'string', 'x-push': true } }
    }
    t.same(compile(schema).unresolved, [])
    t.same(pointers(schema), ['/author', '/editor'])
    t.same(links(schema, { author: '/a/1', editor: '/e/1' }), ['/a/1', '/e/1'])
  })

  t.test('a draft-07 plain-name fragment $id', async (t) => {
    const schema = {
      type: 'object',
      definitions: { a: { $id: '#author', type: 'object', properties: { '@id': { type: 'string', 'x-push': true } } } },
      properties: { author: { $ref: '#author' } }
    }
    t.same(compile(schema).unresolved, [])
    t.same(pointers(schema), ['/author/@id'])
    t.same(links(schema, { author: { '@id': '/authors/1' } }), ['/authors/1'])
  })

  t.test('Other#name: an anchor in another document', async (t) => {
    const Other = { $id: 'Other', definitions: { a: { $id: '#iri', type: 'string', 'x-push': true } }, $defs: { b: { $anchor: 'id', type: 'integer', 'x-push': '/n/{id}' } } }
    const schema = { type: 'object', properties: { a: { $ref: 'Other#iri' }, b: { $ref: 'Other#id' } } }
    t.same(compile(schema, { Other }).unresolved, [])
    t.same(links(schema, { a: '/a/1', b: 2 }, { Other }), ['/a/1', '/n/2'])
  })

  t.test('unknown anchors are reported as unresolved', async (t) => {
    const Other = { $id: 'Other', definitions: { a: { $id: '#iri', type: 'string', 'x-push': true } } }
    const schema = {
      type: 'object',
      properties: { here: { $ref: '#iri' }, there: { $ref: 'Other#nope' }, nowhere: { $ref: 'Nope#iri' }, ok: { $ref: 'Other#iri' } }
    }
    const result = compile(schema, { Other })
    t.same(result.unresolved, ['#iri', 'Other#nope', 'Nope#iri'], 'an anchor belongs to its own document')
    t.same(pointers(schema, { Other }), ['/ok'])
  })

  t.test('an anchor under a subschema with its own $id belongs to that $id', async (t) => {
    const schema = {
      $id: 'http://example.com/root.json',
      type: 'object',
      $defs: { sub: { $id: 'sub.json', $defs: { x: { $anchor: 'inner', type: 'string', 'x-push': true } } } },
      properties: { local: { $ref: '#inner' }, qualified: { $ref: 'sub.json#inner' } }
    }
    const result = compile(schema)
    t.same(result.unresolved, ['#inner'])
    t.same(pointers(schema), ['/qualified'])
  })

  t.test('through Fastify: the draft-07 anchors its serializer resolves', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.addSchema({ $id: 'Other', definitions: { a: { $id: '#author', type: 'object', properties: { '@id': { type: 'string', 'x-push': true } } } } })
    await app.register(pushRelations)
    app.get('/local', {
      schema: {
        response: {
          200: { type: 'object', definitions: { a: { $id: '#iri', type: 'string', 'x-push': true } }, properties: { self: { $ref: '#iri' } } }
        }
      }
    }, async () => ({ self: '/self/1' }))
    app.get('/other', { schema: { response: { 200: { type: 'object', properties: { author: { $ref: 'Other#author' } } } } } },
      async () => ({ author: { '@id': '/authors/1' } }))
    const local = await app.inject('/local')
    t.equal(local.body, '{"self":"/self/1"}')
    t.equal(local.headers['link'], '</self/1>; rel=preload; as=fetch')
    const other = await app.inject('/other')
    t.equal(other.body, '{"author":{"@id":"/authors/1"}}')
    t.equal(other.headers['link'], '</authors/1>; rel=preload; as=fetch')
  })
})

t.test('a recursive shared schema through getSchema', async (t) => {
  const Comment = { $id: 'Comment', type: 'object', properties: { author: { type: 'string', 'x-push': true }, replies: { type: 'array', items: { $ref: 'Comment' } } } }
  const schema = Type.Object({ comments: Type.Array(Type.Ref('Comment')) })
  t.same(pointers(schema, { Comment }), ['/comments/*/author', '/comments/*/replies/*/**'])
  t.same(links(schema, { comments: [{ author: '/u/1', replies: [{ author: '/u/2', replies: [{ author: '/u/3' }] }] }] }, { Comment }),
    ['/u/1', '/u/2', '/u/3'])
})

t.test('SchemaResolver', async (t) => {
  const Other = { $id: 'Other', definitions: { a: { $id: '#name', type: 'string' } } }
  const root = {
    $id: 'http://example.com/root.json',
    definitions: {
      x: { type: 'string' },
      list: [{ type: 'number' }],
      text: 'not a schema',
      anchored: { $anchor: 'an', type: 'boolean' },
      draft7: { $id: '#d7', type: 'null' },
      sub: { $id: 'sub.json', $defs: { y: { $anchor: 'inner', type: 'integer' } } }
    }
  }
  const make = (): { resolver: SchemaResolver, from: Fragment, asked: string[] } => {
    const { getSchema, asked } = stub({ Other, 'http://example.com/abs.json': { type: 'integer' } })
    const resolver = new SchemaResolver(getSchema)
    return { resolver, from: { schema: root, document: resolver.documentOf(root, '') }, asked }
  }
  /** What `reference` resolves to from the root document: the schema and its document's base. */
  const resolve = (reference: string): [SchemaObject, string] | null => {
    const { resolver, from } = make()
    const target = resolver.resolveRef(reference, from)
    return target === null ? null : [target.schema, target.document.base]
  }
  const base = 'http://example.com/root.json'

  t.test('isSchemaObject', async (t) => {
    t.equal(isSchemaObject({}), true)
    t.equal(isSchemaObject([]), false)
    t.equal(isSchemaObject(null), false)
    t.equal(isSchemaObject(true), false)
  })

  t.test('documentOf', async (t) => {
    const { resolver, from } = make()
    t.equal(from.document.base, base, 'an absolute $id is the base')
    t.equal(from.document.root, root)
    t.equal(resolver.documentOf(root, 'elsewhere'), from.document, 'one document per root')
    t.equal(resolver.documentOf({ $id: 'rel.json' }, 'http://example.com/a/b.json').base, 'http://example.com/a/rel.json',
      'a relative $id resolves against the fallback base')
    t.equal(resolver.documentOf({ $id: '#top' }, 'fallback').base, 'fallback', 'a plain-name $id is no base')
    t.equal(resolver.documentOf({ type: 'string' }, '').base, '', 'no $id, no base')
    t.equal(resolver.documentOf({ $id: 'Name' }, '').base, 'Name', 'a non-URI $id is the base as written')
  })

  t.test('resolveRef', async (t) => {
    const schemas = root.definitions
    t.same(resolve(''), [root, base], 'the empty reference is the document')
    t.same(resolve('#'), [root, base], '# too')
    t.same(resolve('#/definitions/x'), [schemas.x, base], 'a pointer')
    t.same(resolve('#%2Fdefinitions%2Fx'), [schemas.x, base], 'a percent-encoded pointer')
    t.same(resolve('#/definitions/list/0'), [schemas.list[0], base], 'into an array')
    t.equal(resolve('#/definitions/list'), null, 'an array is not a schema')
    t.equal(resolve('#/definitions/text'), null, 'a string is not a schema')
    t.equal(resolve('#/definitions/text/length'), null, 'nothing below a string')
    t.equal(resolve('#/definitions/nope'), null, 'a missing token')
    t.equal(resolve('#/definitions/%E0%A4%A'), null, 'a malformed escape')
    t.same(resolve('#an'), [schemas.anchored, base], '$anchor')
    t.same(resolve('#d7'), [schemas.draft7, base], 'a draft-07 plain-name $id')
    t.equal(resolve('#nope'), null, 'an unknown anchor')
    t.equal(resolve('#inner'), null, 'an anchor of a subschema with its own $id')
    t.same(resolve('sub.json#inner'), [schemas.sub.$defs.y, 'http://example.com/sub.json'], 'in that subschema\'s document')
    t.same(resolve('sub.json'), [schemas.sub, 'http://example.com/sub.json'], 'a relative $id')
    t.same(resolve('http://example.com/sub.json'), [schemas.sub, 'http://example.com/sub.json'], 'its absolute form')
    t.same(resolve('Other'), [Other, 'Other'], 'a shared schema, by the id as written')
    t.same(resolve('Other#name'), [Other.definitions.a, 'Other'], 'an anchor in a shared schema')
    t.same(resolve('Other#/definitions/a'), [Other.definitions.a, 'Other'], 'a pointer in a shared schema')
    t.same(resolve('abs.json'), [{ type: 'integer' }, 'http://example.com/abs.json'], 'a shared schema, by its absolute id')
    t.equal(resolve('Nope'), null, 'an unknown document')
    t.equal(resolve('Nope#/definitions/x'), null, 'a pointer in an unknown document')
  })

  t.test('shared schemas are asked for once they are found', async (t) => {
    const { resolver, from, asked } = make()
    t.not(resolver.resolveRef('Other', from), null)
    t.not(resolver.resolveRef('Other#name', from), null)
    t.same(asked.filter((id) => id === 'Other'), ['Other'], 'found once, then known under the id as written')
  })

  t.test('expand: every schema that applies to the same value', async (t) => {
    const { resolver, from } = make()
    const branch = { type: 'null' }
    const then = { properties: {} }
    const withId = { $id: 'http://example.com/other.json', type: 'string' }
    const schema = {
      $ref: '#/definitions/x',
      allOf: [withId, true],
      anyOf: 'not a list',
      oneOf: [branch, branch],
      then,
      else: false,
      if: { $ref: 'Ignored' }
    }
    const fragments = resolver.expand([{ schema, document: from.document }, { schema, document: from.document }])
    t.same(fragments.map((fragment) => fragment.schema), [schema, root.definitions.x, withId, branch, then],
      'the schema, its $ref, allOf, oneOf (once each), then; boolean schemas and if are not followed')
    t.same(fragments.map((fragment) => fragment.document.base), [base, base, 'http://example.com/other.json', base, base],
      'a subschema with an $id is its own document')
    t.same([...resolver.unresolved], [])
    resolver.expand([{ schema: { $ref: 'Missing', anyOf: [{ $ref: '#/nope' }] }, document: from.document }])
    t.same([...resolver.unresolved], ['Missing', '#/nope'], 'unresolved $refs are recorded')
  })
})
