// @ts-check
// The example bookshop API: books, authors, reviews and publishers, in memory, with
// fastify-push-relations registered; authors and publishers can be renamed (PUT).
// `npm start` serves it (see server.mjs).
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import pushRelations, { Push } from 'fastify-push-relations'

export const Author = Type.Object({
  '@id': Type.String(),
  name: Type.String()
}, { $id: 'Author' })

export const Review = Type.Object({
  '@id': Type.String(),
  rating: Type.Integer({ minimum: 1, maximum: 5 }),
  body: Type.String(),
  book: Push(Type.String())
})

export const Publisher = Type.Object({
  '@id': Type.String(),
  name: Type.String()
})

export const Book = Type.Object({
  '@id': Type.String(),
  title: Type.String(),
  // A relation rendered as an IRI: the value is the link.
  author: Type.String({ 'x-push': true }),
  // A to-many relation: one link per element.
  reviews: Push(Type.Array(Type.String())),
  // An embedded relation: its '@id' is the link.
  publisher: Push(Publisher),
  // A bare identifier: the template turns it into a link.
  seriesId: Type.Optional(Type.Union([Push(Type.Integer(), '/series/{id}'), Type.Null()]))
})

export const BookCollection = Type.Object({
  '@id': Type.String(),
  totalItems: Type.Integer(),
  member: Type.Array(Book)
})

/** @typedef {import('@sinclair/typebox').Static<typeof Book>} BookData */

/** Fresh data for each app: writes change one bookshop only. */
function createStore () {
  const authors = new Map([
    ['1', { '@id': '/authors/1', name: 'George Orwell' }],
    ['2', { '@id': '/authors/2', name: 'Margaret Atwood' }]
  ])
  const secker = { '@id': '/publishers/1', name: 'Secker & Warburg' }
  const mcClelland = { '@id': '/publishers/2', name: 'McClelland and Stewart' }
  const publishers = new Map([['1', secker], ['2', mcClelland]])
  const reviews = new Map([
    ['1', { '@id': '/reviews/1', rating: 5, body: 'Chilling.', book: '/books/1' }],
    ['2', { '@id': '/reviews/2', rating: 4, body: 'Still relevant.', book: '/books/1' }],
    ['3', { '@id': '/reviews/3', rating: 5, body: 'Unforgettable.', book: '/books/2' }]
  ])
  /** @type {Map<string, BookData>} */
  const books = new Map([
    ['1', {
      '@id': '/books/1',
      title: 'Nineteen Eighty-Four',
      author: '/authors/1',
      reviews: ['/reviews/1', '/reviews/2'],
      // Embedded: a change of the publisher shows in its books.
      publisher: secker,
      seriesId: null
    }],
    ['2', {
      '@id': '/books/2',
      title: "The Handmaid's Tale",
      author: '/authors/2',
      reviews: ['/reviews/3'],
      publisher: mcClelland,
      seriesId: 1
    }]
  ])
  const series = new Map([
    ['1', { '@id': '/series/1', name: 'Gilead' }]
  ])
  return { authors, publishers, reviews, books, series }
}

/**
 * @template T
 * @param {Map<string, T>} table
 * @returns {import('fastify').RouteHandlerMethod}
 */
function findIn (table) {
  return async function find (request, reply) {
    const { id } = /** @type {{ id: string }} */ (request.params)
    const item = table.get(id)
    if (item === undefined) return reply.code(404).send({ error: 'Not Found' })
    return item
  }
}

/** The body of a rename: `PUT /authors/1 {"name": "Eric Blair"}`. */
export const Rename = Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: false })

/**
 * @template {{ name: string }} T
 * @param {Map<string, T>} table
 * @returns {import('fastify').RouteHandlerMethod}
 */
function renameIn (table) {
  return async function rename (request, reply) {
    const { id } = /** @type {{ id: string }} */ (request.params)
    const item = table.get(id)
    if (item === undefined) return reply.code(404).send({ error: 'Not Found' })
    // In place: the books that embed a publisher show its new name.
    item.name = /** @type {{ name: string }} */ (request.body).name
    return item
  }
}

/**
 * Builds the bookshop. Options are passed to Fastify; `pushRelations` to the plugin.
 * @param {{ fastify?: import('fastify').FastifyServerOptions, pushRelations?: import('fastify-push-relations').PushRelationsOptions }} [options]
 */
export async function buildBookshop (options = {}) {
  const app = Fastify(options.fastify)
  // Register the plugin first: it compiles the routes declared after it.
  await app.register(pushRelations, options.pushRelations ?? {})
  app.addSchema(Author)
  const { authors, publishers, reviews, books, series } = createStore()

  app.get('/books', { schema: { response: { 200: BookCollection } } }, async () => ({
    '@id': '/books',
    totalItems: books.size,
    member: [...books.values()]
  }))
  app.get('/books/:id', { schema: { response: { 200: Book } } }, findIn(books))
  app.get('/authors/:id', { schema: { response: { 200: Type.Ref(Author) } } }, findIn(authors))
  app.get('/reviews/:id', { schema: { response: { 200: Review } } }, findIn(reviews))
  app.get('/publishers/:id', { schema: { response: { 200: Publisher } } }, findIn(publishers))
  app.get('/series/:id', findIn(series))
  // Writes: with the plugin's cacheTags option, each purges what it changed from the caches.
  app.put('/authors/:id', { schema: { body: Rename, response: { 200: Type.Ref(Author) } } }, renameIn(authors))
  app.put('/publishers/:id', { schema: { body: Rename, response: { 200: Publisher } } }, renameIn(publishers))
  return app
}
