import t from 'tap'
import Fastify from 'fastify'
import etag from '@fastify/etag'
import swagger from '@fastify/swagger'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import pushRelations, { Push } from '../lib/index.js'

const Book = Type.Object({
  '@id': Type.String(),
  title: Type.String(),
  author: Push(Type.String()),
  reviews: Push(Type.Array(Type.String()))
})
const book = { '@id': '/books/1', title: '1984', author: '/authors/1', reviews: ['/reviews/1'] }
const links = '</authors/1>; rel=preload; as=fetch, </reviews/1>; rel=preload; as=fetch'

t.test('@fastify/type-provider-typebox: typed handlers, annotations intact', async (t) => {
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>()
  await app.register(pushRelations)
  app.get('/books/:id', {
    schema: { params: Type.Object({ id: Type.String() }), response: { 200: Book } }
  }, async (request) => {
    const id: string = request.params.id // typed by the provider
    return { ...book, '@id': `/books/${id}` }
  })
  const response = await app.inject('/books/7')
  t.equal(response.headers.link, links)
  t.equal(response.json()['@id'], '/books/7')
  t.equal(Book.properties.author['x-push'], true, 'the annotation is visible on the TypeBox schema')
})

t.test('@fastify/swagger shows x-push as a vendor extension', async (t) => {
  const app = Fastify()
  await app.register(swagger, { openapi: { info: { title: 'bookshop', version: '1.0.0' } } })
  await app.register(pushRelations)
  app.get('/books/:id', { schema: { response: { 200: Book } } }, async () => book)
  await app.ready()
  const document = app.swagger() as unknown as { paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: { properties: Record<string, Record<string, unknown>> } }> }> }>> }
  const schema = document.paths['/books/{id}']?.get?.responses['200']?.content['application/json']?.schema
  t.equal(schema?.properties.author?.['x-push'], true)
  t.equal(schema?.properties.reviews?.['x-push'], true)
  t.equal((await app.inject('/books/1')).headers.link, links)
})

t.test('@fastify/etag: a 304 keeps working, with the same links', async (t) => {
  const app = Fastify()
  await app.register(etag)
  await app.register(pushRelations)
  app.get('/books/:id', { schema: { response: { 200: Book } } }, async () => book)
  const first = await app.inject('/books/1')
  t.equal(first.statusCode, 200)
  t.equal(first.headers.link, links)
  t.type(first.headers.etag, 'string')
  const second = await app.inject({ url: '/books/1', headers: { 'if-none-match': first.headers.etag as string } })
  t.equal(second.statusCode, 304)
  t.equal(second.body, '')
  t.equal(second.headers.link, links, 'a cache revalidation gets the same links')
})
