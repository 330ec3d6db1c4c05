import t from 'tap'
import { Type, type TSchema } from '@sinclair/typebox'
import { Push } from '../lib/index.js'
import { MAX_DEPTH } from '../lib/collect/link-collector.js'
import { buildApp } from './helpers/build.js'

/**
 * Values in payloads are data: an API serves what its users stored. None of these may cause a
 * 500, a second header, or more than the caps.
 */

const defaultMaxLinkBytes = 2048

async function linkFor (schema: TSchema, payload: unknown): Promise<{ statusCode: number, link: unknown, body: string }> {
  const { app } = await buildApp()
  app.get('/', { schema: { response: { 200: schema } } }, async () => payload)
  const response = await app.inject('/')
  return { statusCode: response.statusCode, link: response.headers.link, body: response.body }
}

t.test('CR, LF and NUL never reach the header', async (t) => {
  for (const value of ['/a\r\nSet-Cookie: x=1', '/a\nx', '/a\rx', '/a\u0000x', '\r\n/a', '/a\tb']) {
    const result = await linkFor(Type.Object({ a: Push(Type.String()), b: Push(Type.String()) }), { a: value, b: '/ok' })
    t.equal(result.statusCode, 200, JSON.stringify(value))
    t.equal(result.link, '</ok>; rel=preload; as=fetch', JSON.stringify(value))
  }
})

t.test('< > and spaces cannot end the URI or add parameters', async (t) => {
  const result = await linkFor(Type.Object({ a: Push(Type.String()) }), { a: '/a>; rel=stylesheet, </evil a<b' })
  t.equal(result.statusCode, 200)
  t.equal(result.link, '</a%3E;%20rel=stylesheet,%20%3C/evil%20a%3Cb>; rel=preload; as=fetch')
})

t.test('non-ASCII characters are percent-encoded', async (t) => {
  const result = await linkFor(Type.Object({ a: Push(Type.String()) }), { a: '/auteurs/José/😀' })
  t.equal(result.link, '</auteurs/Jos%C3%A9/%F0%9F%98%80>; rel=preload; as=fetch')
})

t.test('a 1 MB string is skipped, not scanned into the header', async (t) => {
  const huge = '/' + 'a'.repeat(1024 * 1024)
  const result = await linkFor(Type.Object({ a: Push(Type.String()), b: Push(Type.String()) }), { a: huge, b: '/ok' })
  t.equal(result.statusCode, 200)
  t.equal(result.link, '</ok>; rel=preload; as=fetch')
  t.equal(result.body.length, huge.length + '{"a":"","b":"/ok"}'.length)
})

t.test('10,000-element arrays stay within the caps', async (t) => {
  const distinct = Array.from({ length: 10_000 }, (_, i) => `/reviews/${i}`)
  const result = await linkFor(Type.Object({ reviews: Push(Type.Array(Type.String())) }), { reviews: distinct })
  t.equal(result.statusCode, 200)
  const entries = (result.link as string).split(', ')
  t.equal(entries.length, 32, 'maxLinks default')
  t.equal(entries[0], '</reviews/0>; rel=preload; as=fetch')
  t.ok(Buffer.byteLength(result.link as string) <= defaultMaxLinkBytes)

  const invalid = Array.from({ length: 10_000 }, (_, i) => `javascript:alert(${i})`)
  const skipped = await linkFor(Type.Object({ reviews: Push(Type.Array(Type.String())), last: Push(Type.String()) }), { reviews: invalid, last: '/last' })
  t.equal(skipped.statusCode, 200)
  t.equal(skipped.link, undefined, 'the candidate cap stops the walk before the later field')

  const collection = { member: Array.from({ length: 10_000 }, (_, i) => ({ author: `/authors/${i % 3}` })) }
  const duplicates = await linkFor(Type.Object({ member: Type.Array(Type.Object({ author: Push(Type.String()) })) }), collection)
  t.equal(duplicates.link, '</authors/0>; rel=preload; as=fetch, </authors/1>; rel=preload; as=fetch, </authors/2>; rel=preload; as=fetch')
})

t.test('long values fill the byte cap, never more', async (t) => {
  const values = Array.from({ length: 40 }, (_, i) => `/${String(i).padStart(3, '0')}/${'x'.repeat(150)}`)
  const result = await linkFor(Type.Object({ a: Push(Type.Array(Type.String())) }), { a: values })
  const bytes = Buffer.byteLength(result.link as string)
  t.ok(bytes <= defaultMaxLinkBytes, `${bytes} bytes`)
  t.ok(bytes > defaultMaxLinkBytes - 200, 'as many entries as fit')
})

t.test('__proto__, constructor and prototype keys are plain data', async (t) => {
  const payload = JSON.parse('{"__proto__": {"@id": "/polluted"}, "constructor": "/c", "map": {"__proto__": "/p", "toString": "/t"}}') as unknown
  const schema = Type.Object({
    ['__proto__']: Type.Optional(Push(Type.Object({ '@id': Type.String() }))),
    constructor: Push(Type.String()),
    map: Type.Record(Type.String(), Push(Type.String()))
  })
  const result = await linkFor(schema, payload)
  t.equal(result.statusCode, 200)
  t.equal(result.link, '</polluted>; rel=preload; as=fetch, </c>; rel=preload; as=fetch, </p>; rel=preload; as=fetch, </t>; rel=preload; as=fetch')
  t.equal(({} as Record<string, unknown>)['@id'], undefined, 'Object.prototype untouched')

  const inherited = await linkFor(Type.Object({ constructor: Type.Optional(Push(Type.String())), toString: Type.Optional(Push(Type.String())) }), {})
  t.equal(inherited.statusCode, 200)
  t.equal(inherited.link, undefined, 'inherited functions are not values')
})

t.test('deeply nested data stops at the depth limit', async (t) => {
  const Node = Type.Recursive((This) => Type.Object({ link: Push(Type.String()), child: Type.Optional(This) }))
  let deep: { link: string, child?: unknown } = { link: '/leaf' }
  for (let level = 2_000; level >= 0; level--) deep = { link: `/level/${level}`, child: deep }
  const { app, logs } = await buildApp({ maxLinks: 1000, maxLinkBytes: 100_000 })
  app.get('/', { schema: { response: { 200: Node } } }, async () => deep)
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  const entries = (response.headers.link as string).split(', ')
  t.equal(entries.length, MAX_DEPTH, 'values at most MAX_DEPTH levels deep: /link, /child/link... (64 tokens)')
  t.equal(entries.at(-1), `</level/${MAX_DEPTH - 1}>; rel=preload; as=fetch`)
  t.match(logs.find((line) => String(line.msg).includes('not preloaded')), { depthLimited: true })
})

t.test('a cyclic object terminates (the serializer reports the cycle)', async (t) => {
  const Node = Type.Recursive((This) => Type.Object({ link: Push(Type.String()), child: Type.Optional(This) }))
  const cyclic: { link: string, child?: unknown } = { link: '/self' }
  cyclic.child = cyclic
  const { app } = await buildApp()
  app.get('/', { schema: { response: { 200: Node } } }, async () => cyclic)
  const response = await app.inject('/')
  t.equal(response.statusCode, 500)
})

t.test('wrong types are skipped', async (t) => {
  const schema = Type.Object({
    a: Type.Optional(Push(Type.Any())),
    b: Type.Optional(Push(Type.Any())),
    c: Type.Optional(Push(Type.Any())),
    d: Type.Optional(Push(Type.Any())),
    e: Type.Optional(Push(Type.Any())),
    f: Type.Optional(Push(Type.Any()))
  })
  const result = await linkFor(schema, { a: 12, b: true, c: null, d: [[['/nested']]], e: { '@id': 7 }, f: '' })
  t.equal(result.statusCode, 200)
  t.equal(result.link, undefined)
})

t.test('template values "." and ".." give no link: a value never climbs out of its segment', async (t) => {
  const schema = Type.Object({
    authors: Type.Array(Push(Type.String(), '/authors/{id}')),
    editions: Type.Array(Push(Type.Object({ book: Type.String(), year: Type.String() }), '/books/{book}/editions/{year}')),
    search: Push(Type.String(), '/search?q={q}')
  })
  const result = await linkFor(schema, {
    authors: ['..', '.', '...', '1'],
    editions: [{ book: '..', year: '..' }, { book: '1', year: '.' }, { book: '1', year: '1949' }],
    search: '..'
  })
  t.equal(result.statusCode, 200)
  t.equal(result.link, ['/authors/...', '/authors/1', '/books/1/editions/1949', '/search?q=..']
    .map((path) => `<${path}>; rel=preload; as=fetch`).join(', '), 'no /, /authors/ or /books/1/editions/; dots in a query are data')
})
