// Type tests for ES module consumers of `typebox` 1.x with `@fastify/type-provider-typebox`
// 6.x (installed here under the alias `type-provider-typebox-6`). Checked by
// `npm run typecheck`, against the built declarations (dist/, which the tarball ships), never run.
import Fastify from 'fastify'
import Type, { type Static, type TString, type TArray, type TInteger, type TOptional } from 'typebox'
import type { TypeBoxTypeProvider } from 'type-provider-typebox-6'
import { fastifyPushRelations, Push } from 'fastify-push-relations'

function expectType<T> (value: T): T {
  return value
}

// Push keeps the TypeBox 1.x type as it is.
const author = Push(Type.String())
expectType<TString>(author)
const reviews = Push(Type.Array(Type.String()), '/reviews/{id}')
expectType<TArray<TString>>(reviews)
const editor = Type.Optional(Push(Type.Integer(), { template: '/editors/{id}', nopush: true }))
expectType<TOptional<TInteger>>(editor)
const Book = Type.Object({ author, reviews, editor, inline: Type.String({ 'x-push': true }) })
const data: Static<typeof Book> = { author: '/a', reviews: ['/r'], inline: '/i' }
expectType<string>(data.author)
expectType<number | undefined>(data.editor)
// @ts-expect-error the annotation object only knows its own keys
Push(Type.String(), { template: '/a/{id}', unknown: true })

const app = Fastify().withTypeProvider<TypeBoxTypeProvider>()
await app.register(fastifyPushRelations, { maxLinks: 8 })
app.get('/books/:id', { schema: { params: Type.Object({ id: Type.String() }), response: { 200: Book } } }, async (request, reply) => {
  expectType<string>(request.params.id)
  reply.preload(`/authors/${request.params.id}`)
  return { author: '/authors/1', reviews: ['/reviews/1'], inline: '/i' }
})
// @ts-expect-error author (a Push field) is a string, not a number
app.get('/wrong', { schema: { response: { 200: Book } } }, async () => ({ author: 1, reviews: [], inline: '/i' }))
