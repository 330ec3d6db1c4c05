// @ts-check
// The Fastify apps the benchmarks load, one per scenario. Each one is served by
// bench/server.mjs in its own process; the parts of bench/run.mjs (bench/parts/) start them
// and load them.
//
// Every handler returns a payload built once at startup, so that a request costs routing,
// serialization and the hooks under test, and nothing else: the plugin's share of the work is
// as large as it can be, which makes the ratios a worst case for the plugin.
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import pushRelations, { Push } from 'fastify-push-relations'

/**
 * @typedef {'baseline-book' | 'plugin-plain' | 'plugin-book' | 'baseline-collection' | 'plugin-collection' |
 *   'baseline-blob' | 'plugin-blob' | 'naive-blob' | 'latency-h1' | 'latency-h2' | 'latency-slow-h1' | 'latency-slow-h2' |
 *   'hooks-book' | 'link-book' | 'hook-book' | 'hooks-collection' | 'link-collection' | 'hook-collection' |
 *   'control-book' | 'control-collection' | 'bookshop-bare' | 'bookshop-vulcain' | 'tags-book'} Scenario
 */

/**
 * What bench/server.mjs needs of an app, HTTP/1.1 or HTTP/2.
 * @typedef {object} BenchApp
 * @property {(options: { host: string, port: number }) => Promise<string>} listen
 * @property {() => PromiseLike<undefined>} close
 * @property {{ address: () => import('node:net').AddressInfo | string | null }} server
 */

/** @type {readonly Scenario[]} */
export const SCENARIOS = [
  'baseline-book', 'plugin-plain', 'plugin-book', 'baseline-collection', 'plugin-collection',
  'baseline-blob', 'plugin-blob', 'naive-blob', 'latency-h1', 'latency-h2', 'latency-slow-h1', 'latency-slow-h2',
  'hooks-book', 'link-book', 'hook-book', 'hooks-collection', 'link-collection', 'hook-collection',
  'control-book', 'control-collection', 'bookshop-bare', 'bookshop-vulcain', 'tags-book'
]

/**
 * @param {string} value
 * @returns {value is Scenario}
 */
export function isScenario (value) {
  return /** @type {readonly string[]} */ (SCENARIOS).includes(value)
}

/**
 * Marks a field as a relation when `annotated`; the plain variant is the same schema without it.
 * @template {object} T
 * @param {boolean} annotated
 * @param {T} schema
 * @param {string} [template]
 * @returns {T}
 */
function relation (annotated, schema, template) {
  return annotated ? Push(schema, template ?? true) : schema
}

const LOREM = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore ' +
  'et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip. '

// (a), (b), (c): a book with 10 relations of the three kinds an annotation can name: IRI
// strings (author, 7 reviews), an embedded object's `@id` (publisher), an integer id through a
// URI template (series).

/** @param {boolean} annotated */
export function bookSchema (annotated) {
  return Type.Object({
    '@id': Type.String(),
    title: Type.String(),
    isbn: Type.String(),
    description: Type.String(),
    pages: Type.Integer(),
    author: relation(annotated, Type.String()),
    publisher: relation(annotated, Type.Object({ '@id': Type.String(), name: Type.String() })),
    seriesId: relation(annotated, Type.Integer(), '/series/{id}'),
    reviews: relation(annotated, Type.Array(Type.String()))
  })
}

/** @param {number} id */
export function bookData (id) {
  return {
    '@id': `/books/${id}`,
    title: 'Nineteen Eighty-Four',
    isbn: '978-0-452-28423-4',
    description: LOREM + LOREM,
    pages: 328,
    author: '/authors/1',
    publisher: { '@id': '/publishers/1', name: 'Secker & Warburg' },
    seriesId: 3,
    reviews: Array.from({ length: 7 }, (_, i) => `/reviews/${id * 10 + i}`)
  }
}

/** The 10 relations of `bookData(id)`, in document order. */
export const BOOK_RELATIONS = 10

// (d): a collection of 100 books with 2 relations each. Authors and publishers repeat as they
// do on a real page (20 and 10 distinct), so that every one of the 200 values is read and
// de-duplicated and the 30 links stay under the default maxLinks (32): the whole payload is walked.

/** @param {boolean} annotated */
export function collectionSchema (annotated) {
  return Type.Object({
    '@id': Type.String(),
    totalItems: Type.Integer(),
    member: Type.Array(Type.Object({
      '@id': Type.String(),
      title: Type.String(),
      year: Type.Integer(),
      author: relation(annotated, Type.String()),
      publisher: relation(annotated, Type.String())
    }))
  })
}

export function collectionData () {
  return {
    '@id': '/books',
    totalItems: 100,
    member: Array.from({ length: 100 }, (_, i) => ({
      '@id': `/books/${i}`,
      title: `Book number ${i}`,
      year: 1900 + i,
      author: `/authors/${i % 20}`,
      publisher: `/publishers/${i % 10}`
    }))
  }
}

export const COLLECTION_RELATIONS = 30

// (e), (f): a large document (chapters of text) with a single relation. `size` is the length
// of the serialized body in bytes, approximately (within one chapter).

/** @param {boolean} annotated */
export function blobSchema (annotated) {
  return Type.Object({
    '@id': Type.String(),
    title: Type.String(),
    author: relation(annotated, Type.String()),
    chapters: Type.Array(Type.Object({ number: Type.Integer(), title: Type.String(), text: Type.String() }))
  })
}

/** @param {number} size */
export function blobData (size) {
  /** @type {{ '@id': string, title: string, author: string, chapters: Array<{ number: number, title: string, text: string }> }} */
  const data = { '@id': '/books/1', title: 'A long book', author: '/authors/1', chapters: [] }
  let length = JSON.stringify(data).length
  for (let number = 1; length < size; number++) {
    const chapter = { number, title: `Chapter ${number}`, text: LOREM.repeat(2) }
    const chapterLength = JSON.stringify(chapter).length + 1
    if (length + chapterLength > size && data.chapters.length > 0) {
      // The last chapter is cut to length, so that the body is `size` bytes give or take a few.
      chapter.text = chapter.text.slice(0, Math.max(0, chapter.text.length - (length + chapterLength - size)))
    }
    data.chapters.push(chapter)
    length += JSON.stringify(chapter).length + 1
  }
  return data
}

export const BLOB_RELATIONS = 1

// The floors of the overhead part, beside the bare route and the plugin (issue #10):
//   link-*:  the handler sets the very Link header the plugin writes, as a constant string:
//            what the header's bytes cost Node and the client;
//   hook-*:  a hand-written preSerialization hook for that route: it reads the relation fields
//            of the payload, de-duplicates them in a Set and joins the entries: what code
//            written for this one route costs, the floor a generic plugin can aim at;
//   hooks-*: a no-op preSerialization hook and a no-op onSend hook, the two hooks the plugin
//            adds to an annotated route: what Fastify's hook runners cost.

/** @param {ReturnType<typeof bookData>} book */
function bookLinks (book) {
  return linkHeader(bookRelations(book))
}

/** @param {ReturnType<typeof collectionData>} collection */
function collectionLinks (collection) {
  return linkHeader(collection.member.flatMap((item) => [item.author, item.publisher]))
}

/** @param {string[]} paths */
function linkHeader (paths) {
  return [...new Set(paths)].map((path) => `<${path}>; rel=preload; as=fetch`).join(', ')
}

/**
 * The hand-written hook of the book route: the 10 relation fields, a Set, a join.
 * @type {import('fastify').preSerializationHookHandler<ReturnType<typeof bookData>>}
 */
export function bookLinkHook (_request, reply, book, done) {
  const paths = new Set()
  if (typeof book.author === 'string') paths.add(book.author)
  const publisher = book.publisher?.['@id']
  if (typeof publisher === 'string') paths.add(publisher)
  if (Number.isInteger(book.seriesId)) paths.add(`/series/${book.seriesId}`)
  if (Array.isArray(book.reviews)) {
    for (const review of book.reviews) if (typeof review === 'string') paths.add(review)
  }
  if (paths.size > 0) reply.header('link', [...paths].map((path) => `<${path}>; rel=preload; as=fetch`).join(', '))
  done(null, book)
}

/**
 * The hand-written hook of the collection route: two fields of each of the 100 members.
 * @type {import('fastify').preSerializationHookHandler<ReturnType<typeof collectionData>>}
 */
export function collectionLinkHook (_request, reply, collection, done) {
  const paths = new Set()
  for (const item of collection.member) {
    if (typeof item.author === 'string') paths.add(item.author)
    if (typeof item.publisher === 'string') paths.add(item.publisher)
  }
  if (paths.size > 0) reply.header('link', [...paths].map((path) => `<${path}>; rel=preload; as=fetch`).join(', '))
  done(null, collection)
}

/**
 * The hooks a floor scenario adds to its route.
 * @param {Scenario} scenario
 * @returns {Pick<import('fastify').RouteShorthandOptions, 'preSerialization' | 'onSend'>}
 */
function floorHooks (scenario) {
  switch (scenario) {
    case 'hooks-book':
    case 'hooks-collection':
      return {
        preSerialization: (_request, _reply, payload, done) => { done(null, payload) },
        onSend: (_request, _reply, payload, done) => { done(null, payload) }
      }
    case 'hook-book':
      return { preSerialization: /** @type {import('fastify').preSerializationHookHandler<unknown>} */ (bookLinkHook) }
    case 'hook-collection':
      return { preSerialization: /** @type {import('fastify').preSerializationHookHandler<unknown>} */ (collectionLinkHook) }
    default:
      return {}
  }
}

/**
 * The route's handler: returns the payload (the `link-*` ones set the Link header first).
 * @param {Scenario} scenario
 * @param {object} payload
 * @param {string} link
 * @returns {import('fastify').RouteHandlerMethod}
 */
function handlerOf (scenario, payload, link) {
  if (!scenario.startsWith('link-')) return async () => payload
  return async (_request, reply) => {
    reply.header('link', link)
    return payload
  }
}

/**
 * (f): the naive reference. Without a compiled plan, the links are found after serialization:
 * the body is parsed back with `JSON.parse` in `onSend`, and the relation fields read from it.
 * @param {import('fastify').FastifyInstance} app
 * @param {readonly string[]} fields the top-level fields that hold relations
 */
function addNaiveLinks (app, fields) {
  app.addHook('onSend', function naiveLinks (_request, reply, payload, done) {
    if (reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string') {
      const body = JSON.parse(payload)
      const links = []
      for (const field of fields) {
        const value = body[field]
        if (typeof value === 'string' && value.startsWith('/')) links.push(`<${value}>; rel=preload; as=fetch`)
      }
      if (links.length > 0) reply.header('link', links.join(', '))
    }
    done(null, payload)
  })
}

/** The small resources the book of the latency benchmark links to. */
function relatedData (/** @type {string} */ path) {
  return { '@id': path, name: `Resource ${path}`, summary: LOREM }
}
const Related = Type.Object({ '@id': Type.String(), name: Type.String(), summary: Type.String() })

/**
 * Builds the app of one scenario.
 * @param {Scenario} scenario
 * @param {{ size?: number }} [options] `size`: body size of the blob scenarios, in bytes
 * @returns {Promise<BenchApp>}
 */
export async function buildApp (scenario, options = {}) {
  const size = options.size ?? 100 * 1024
  switch (scenario) {
    case 'baseline-book':
    case 'control-book': // the baseline again, in another process: an A/A control of the method
    case 'plugin-plain':
    case 'plugin-book':
    case 'tags-book': // the plugin with cacheTags: the cost of computing the tag header (issue #12)
    case 'hooks-book':
    case 'hook-book':
    case 'link-book': {
      const app = Fastify()
      if (scenario === 'plugin-plain' || scenario === 'plugin-book') await app.register(pushRelations)
      if (scenario === 'tags-book') await app.register(pushRelations, { cacheTags: true })
      const book = bookData(1)
      app.get('/books/:id', {
        schema: { response: { 200: bookSchema(scenario === 'plugin-book' || scenario === 'tags-book') } },
        ...floorHooks(scenario)
      }, handlerOf(scenario, book, bookLinks(book)))
      return app
    }
    case 'baseline-collection':
    case 'control-collection':
    case 'plugin-collection':
    case 'hooks-collection':
    case 'hook-collection':
    case 'link-collection': {
      const app = Fastify()
      if (scenario === 'plugin-collection') await app.register(pushRelations)
      const collection = collectionData()
      app.get('/books', {
        schema: { response: { 200: collectionSchema(scenario === 'plugin-collection') } },
        ...floorHooks(scenario)
      }, handlerOf(scenario, collection, collectionLinks(collection)))
      return app
    }
    case 'baseline-blob':
    case 'plugin-blob':
    case 'naive-blob': {
      const app = Fastify({ bodyLimit: 2 * 1024 * 1024 })
      if (scenario === 'plugin-blob') await app.register(pushRelations)
      if (scenario === 'naive-blob') addNaiveLinks(app, ['author'])
      const blob = blobData(size)
      app.get('/books/:id', { schema: { response: { 200: blobSchema(scenario === 'plugin-blob') } } }, async () => blob)
      return app
    }
    case 'latency-h1': {
      const app = Fastify()
      await app.register(pushRelations)
      addLatencyRoutes(app, false)
      return app
    }
    case 'latency-h2': {
      // Cleartext HTTP/2 with native push on: a client that sends SETTINGS_ENABLE_PUSH=0 gets
      // the Link header only.
      const app = Fastify({ http2: true })
      await app.register(pushRelations, { push: true, maxPushes: BOOK_RELATIONS })
      addLatencyRoutes(app, false)
      return app
    }
    case 'latency-slow-h1': {
      // The slow upstream of the h2o case: HTTP/1.1, 103 Early Hints from reply.preload().
      const app = Fastify()
      await app.register(pushRelations, { earlyHints: true })
      addLatencyRoutes(app, true)
      return app
    }
    case 'latency-slow-h2': {
      const app = Fastify({ http2: true })
      await app.register(pushRelations, { push: true, earlyHints: true, maxPushes: BOOK_RELATIONS })
      addLatencyRoutes(app, true)
      return app
    }
    case 'bookshop-bare':
    case 'bookshop-vulcain':
      return await buildBenchBookshop(scenario === 'bookshop-vulcain')
  }
}

/** Server work of the slow book routes of the latency part, after the relations are known, ms. */
export const SLOW_BOOK_MS = 200
/** Server work of each related resource of the slow apps, ms. */
export const SLOW_RELATED_MS = 50

/**
 * The bookshop of the latency benchmark: the book with 10 relations, and the resources it
 * links to. `slow`: `/books/:id` answers after `SLOW_BOOK_MS` of work, with the links in the
 * final response only; `/early/books/:id` calls `reply.preload()` with the book's relations
 * first (103 Early Hints, early pushes), then does the same work; related resources take
 * `SLOW_RELATED_MS` each.
 * @param {{ get: import('fastify').FastifyInstance['get'] } | { get: import('fastify').FastifyInstance<import('node:http2').Http2Server>['get'] }} app
 * @param {boolean} slow
 */
function addLatencyRoutes (app, slow) {
  const book = bookData(1)
  const relations = bookRelations(book)
  /** @typedef {(request: { url: string }, reply: { preload: (...uris: string[]) => unknown }) => Promise<unknown>} Handler */
  const get = /** @type {(path: string, options: object, handler: Handler) => void} */ (app.get.bind(app))
  const work = (/** @type {number} */ ms) => slow ? new Promise((resolve) => setTimeout(resolve, ms)) : undefined
  const bookOptions = { schema: { response: { 200: bookSchema(true) } } }
  get('/books/:id', bookOptions, async () => {
    await work(SLOW_BOOK_MS)
    return book
  })
  if (slow) {
    get('/early/books/:id', bookOptions, async (_request, reply) => {
      reply.preload(...relations)
      await work(SLOW_BOOK_MS)
      return book
    })
  }
  for (const prefix of ['authors', 'publishers', 'series', 'reviews']) {
    get(`/${prefix}/:id`, { schema: { response: { 200: Related } } }, async (request) => {
      await work(SLOW_RELATED_MS)
      return relatedData(request.url)
    })
  }
}

/**
 * The relations of a book as a client that knows the API reads them from the body (and as
 * the handlers of the slow apps know them before the body exists), in document order.
 * @param {ReturnType<typeof bookData>} book
 * @returns {string[]}
 */
export function bookRelations (book) {
  return [book.author, book.publisher['@id'], `/series/${book.seriesId}`, ...book.reviews]
}

// The bookshop of the Vulcain part: example/bookshop.mjs's schemas and routes, with 100 books
// (the example has 2). Bare: no plugin at all; vulcain: the plugin as example/server.mjs
// registers it ({ vulcain: true }).

export const BOOKSHOP_BOOKS = 100

/** @param {boolean} vulcain */
async function buildBenchBookshop (vulcain) {
  const { Author, Book, BookCollection, Publisher, Review } = await import('../example/bookshop.mjs')
  const app = Fastify()
  if (vulcain) await app.register(pushRelations, { vulcain: true })
  app.addSchema(Author)
  const authors = Array.from({ length: 10 }, (_, i) => ({ '@id': `/authors/${i + 1}`, name: `Author ${i + 1}` }))
  const publishers = [{ '@id': '/publishers/1', name: 'Secker & Warburg' }, { '@id': '/publishers/2', name: 'McClelland and Stewart' }]
  const books = Array.from({ length: BOOKSHOP_BOOKS }, (_, i) => ({
    '@id': `/books/${i + 1}`,
    title: `Book number ${i + 1}`,
    author: `/authors/${(i % 10) + 1}`,
    reviews: [`/reviews/${2 * i + 1}`, `/reviews/${2 * i + 2}`],
    publisher: /** @type {{ '@id': string, name: string }} */ (publishers[i % 2]),
    seriesId: i % 3 === 0 ? null : (i % 5) + 1
  }))
  const collection = { '@id': '/books', totalItems: books.length, member: books }
  /**
   * @param {ReadonlyArray<object>} items
   * @returns {import('fastify').RouteHandlerMethod}
   */
  const byId = (items) => async (request, reply) => {
    const item = items[Number(/** @type {{ id: string }} */ (request.params).id) - 1]
    return item ?? reply.code(404).send({ error: 'Not Found' })
  }
  app.get('/books', { schema: { response: { 200: BookCollection } } }, async () => collection)
  app.get('/books/:id', { schema: { response: { 200: Book } } }, byId(books))
  app.get('/authors/:id', { schema: { response: { 200: Type.Ref(Author) } } }, byId(authors))
  app.get('/publishers/:id', { schema: { response: { 200: Publisher } } }, byId(publishers))
  const reviews = books.flatMap((book) => book.reviews.map((id) => ({ '@id': id, rating: 4, body: 'Fine.', book: book['@id'] })))
  app.get('/reviews/:id', { schema: { response: { 200: Review } } }, byId(reviews))
  return app
}

/**
 * The request path each scenario is loaded with.
 * @param {Scenario} scenario
 */
export function pathOf (scenario) {
  return scenario.endsWith('-collection') ? '/books' : '/books/1'
}
