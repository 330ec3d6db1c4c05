import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import etag from '@fastify/etag'
import swagger from '@fastify/swagger'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
// @fastify/type-provider-typebox 6.x and typebox 1.x, next to 5.x and @sinclair/typebox 0.34
// (package.json installs 6.x under the alias `type-provider-typebox-6`).
import { TypeBoxValidatorCompiler as TypeBoxValidatorCompiler6, type TypeBoxTypeProvider as TypeBoxTypeProvider6 } from 'type-provider-typebox-6'
import Type1 from 'typebox'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import * as implementation from '../lib/index.js'
import pushRelations, { Push } from '../lib/index.js'

const Book = Type.Object({
  '@id': Type.String(),
  title: Type.String(),
  author: Push(Type.String()),
  reviews: Push(Type.Array(Type.String()))
})
const book = { '@id': '/books/1', title: '1984', author: '/authors/1', reviews: ['/reviews/1'] }
const links = '</authors/1>; rel=preload; as=fetch, </reviews/1>; rel=preload; as=fetch'

t.test('@fastify/type-provider-typebox 5.x with @sinclair/typebox 0.34: typed handlers, annotations intact', async (t) => {
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>().setValidatorCompiler(TypeBoxValidatorCompiler)
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

t.test('@fastify/type-provider-typebox 6.x with typebox 1.x: the same links from the same shapes', async (t) => {
  const Book1 = Type1.Object({
    '@id': Type1.String(),
    title: Type1.String(),
    author: Push(Type1.String()),
    reviews: Push(Type1.Array(Type1.String())),
    editor: Type1.Optional(Push(Type1.Integer(), '/editors/{id}'))
  })
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider6>().setValidatorCompiler(TypeBoxValidatorCompiler6)
  await app.register(pushRelations)
  app.get('/books/:id', {
    schema: { params: Type1.Object({ id: Type1.String() }), response: { 200: Book1 } }
  }, async (request) => {
    const id: string = request.params.id // typed by the provider
    return { ...book, '@id': `/books/${id}`, editor: 3 }
  })
  const response = await app.inject('/books/7')
  t.equal(response.headers.link, `${links}, </editors/3>; rel=preload; as=fetch`)
  t.equal(response.json()['@id'], '/books/7')
  t.equal((Book1.properties.author as unknown as Record<string, unknown>)['x-push'], true, 'the annotation is visible on the typebox 1.x schema')
  t.same(app.pushRelations.routes()[0]?.responses, [{ status: '200', pointers: ['/author', '/reviews', '/editor'] }])
})

t.test('plain JSON Schema, no TypeBox: the runtime reads JSON Schema keywords only', async (t) => {
  // What TypeBox builds, without its symbols or helpers: a JSON round trip drops anything else.
  const plain = JSON.parse(JSON.stringify(Book)) as object
  t.same(Object.getOwnPropertySymbols(plain), [])
  const handWritten = {
    type: 'object',
    properties: {
      '@id': { type: 'string' },
      title: { type: 'string' },
      author: { type: 'string', 'x-push': true },
      reviews: { type: 'array', items: { type: 'string' }, 'x-push': true }
    }
  }
  const app = Fastify()
  await app.register(pushRelations)
  app.get('/round-trip', { schema: { response: { 200: plain } } }, async () => book)
  app.get('/hand-written', { schema: { response: { 200: handWritten } } }, async () => book)
  t.equal((await app.inject('/round-trip')).headers.link, links)
  t.equal((await app.inject('/hand-written')).headers.link, links)
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

/**
 * The README's recipes (`<!-- recipe: name -->`), run as written: TypeScript ones stripped of
 * their types by the TypeScript compiler, `fastify-push-relations` mapped to lib/, and the
 * recipe for @fastify/type-provider-typebox 6 given 6.x under its real name.
 */
t.test('README recipes run as written', async (t) => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8')
  const recipes = new Map([...readme.matchAll(/<!-- recipe: ([\w-]+) -->\n```(ts|js)\n([\s\S]*?)```/g)]
    .map((match) => [match[1] as string, ts.transpileModule(match[3] as string, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText]))
  t.same([...recipes.keys()], ['typebox-6', 'typebox-5', 'swagger'])
  const scratch = join(__dirname, '.snippets')
  mkdirSync(scratch, { recursive: true })
  async function load (name: string, mocks: Record<string, unknown> = {}): Promise<FastifyInstance> {
    const file = join(scratch, `recipe-${name}.mjs`)
    writeFileSync(file, `${recipes.get(name) as string}\nexport { app }\n`)
    const module = await t.mockImport<{ app: FastifyInstance }>(file, { 'fastify-push-relations': implementation, ...mocks })
    return module.app
  }
  const typebox6 = await load('typebox-6', { typebox: Type1 })
  t.same((await typebox6.inject('/books/2')).json(), { title: 'Book 2', author: '/authors/1' })
  t.equal((await typebox6.inject('/books/2')).headers.link, '</authors/1>; rel=preload; as=fetch')
  const typebox5 = await load('typebox-5')
  t.equal((await typebox5.inject('/books/2')).headers.link, '</authors/1>; rel=preload; as=fetch')
  const openapi = await load('swagger')
  const document = openapi.swagger() as unknown as { paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }> }
  t.same(document.paths['/books/{id}']?.get.responses['200']?.content['application/json']?.schema, { type: 'object', properties: { author: { type: 'string', 'x-push': true } } })
})
