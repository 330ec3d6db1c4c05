// Type tests for ES module consumers of `@sinclair/typebox` 0.34 with
// `@fastify/type-provider-typebox` 5.x. Checked twice, never run: by `npm run typecheck`, and
// in a project that installs the packed tarball (test/package.test.ts), as users get it.
// A line marked @ts-expect-error fails the check when it stops being an error.
import Fastify, { type FastifyPluginCallback } from 'fastify'
import { Type, type Static, type TString, type TArray, type TObject, type TOptional } from '@sinclair/typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import pushRelations, {
  ajvPlugin,
  fastifyPushRelations,
  FST_PUSH_RELATIONS_INVALID_OPTION,
  KEYWORD,
  Push,
  pushRelations as named,
  type CrossOrigin,
  type PurgeFailure,
  type PurgeResult,
  type PushAnnotation,
  type PushAnnotationObject,
  type PushRelationsDecorator,
  type PushRelationsOptions,
  type ResponsePreloads,
  type RoutePreloads
} from 'fastify-push-relations'

function expectType<T> (value: T): T {
  return value
}

expectType<FastifyPluginCallback<PushRelationsOptions>>(pushRelations)
expectType<typeof pushRelations>(named)
expectType<typeof pushRelations>(fastifyPushRelations)
expectType<'x-push'>(KEYWORD)
expectType<Error>(new FST_PUSH_RELATIONS_INVALID_OPTION('maxLinks', 'must be an integer'))

const app = Fastify({ ajv: { plugins: [ajvPlugin] } })
await app.register(pushRelations)
await app.register(fastifyPushRelations, { rel: 'preload', as: 'fetch', crossorigin: 'anonymous', nopush: false, maxLinks: 10, maxLinkBytes: 4000, iriKey: '@id', origins: ['https://api.example.com'] })
await app.register(pushRelations, { crossorigin: false })
await app.register(pushRelations, { vulcain: true })
expectType<CrossOrigin>('use-credentials')
// @ts-expect-error maxLinks is a number
await app.register(pushRelations, { maxLinks: '10' })
// @ts-expect-error crossorigin takes the two CORS values
await app.register(pushRelations, { crossorigin: 'yes' })
// @ts-expect-error unknown options are rejected
await app.register(pushRelations, { maxLink: 10 })

// Push keeps the TypeBox type, so Static and type providers see the same data type.
const author = Push(Type.String())
expectType<TString>(author)
const reviews = Push(Type.Array(Type.String()), '/reviews/{id}')
expectType<TArray<TString>>(reviews)
const editor = Type.Optional(Push(Type.Integer(), { template: '/editors/{id}', as: 'fetch', nopush: true }))
expectType<TOptional<ReturnType<typeof Type.Integer>>>(editor)
const Book = Type.Object({ author, reviews, editor, inline: Type.String({ 'x-push': true }) })
expectType<TObject>(Book)
const data: Static<typeof Book> = { author: '/a', reviews: ['/r'], inline: '/i' }
expectType<string>(data.author)
expectType<number | undefined>(data.editor)
// @ts-expect-error the annotation object only knows its own keys
Push(Type.String(), { template: '/a/{id}', unknown: true })
// @ts-expect-error an annotation is true, a template or an object
Push(Type.String(), 42)
expectType<PushAnnotation>({ crossorigin: 'use-credentials' })
expectType<PushAnnotationObject>({ template: '/a/{id}', rel: 'preload', as: 'fetch', crossorigin: false, nopush: true })

// The type provider infers the same types through Push: a wrong type for a Push field is rejected.
const typed = app.withTypeProvider<TypeBoxTypeProvider>()
typed.get('/books/:id', { schema: { params: Type.Object({ id: Type.String() }), response: { 200: Book } } }, async (request, reply) => {
  expectType<string>(request.params.id)
  reply.preload(`/authors/${request.params.id}`)
  return { author: '/authors/1', reviews: ['/reviews/1'], editor: 1, inline: '/i' }
})
// @ts-expect-error author (a Push field) is a string, not a number
typed.get('/wrong', { schema: { response: { 200: Book } } }, async () => ({ author: 1, reviews: [], inline: '/i' }))

// The decorator.
const routes: RoutePreloads[] = app.pushRelations.routes()
expectType<PushRelationsDecorator>(app.pushRelations)
expectType<readonly ResponsePreloads[] | undefined>(routes[0]?.responses)
expectType<readonly string[] | undefined>(routes[0]?.responses[0]?.pointers)

// reply.preload() and the per-route configuration.
app.get('/typed', { config: { pushRelations: { vulcain: false } } }, async (_request, reply) => {
  const same: typeof reply = reply.preload('/authors/1', '/authors/2')
  // @ts-expect-error reply.preload takes URI references (strings)
  reply.preload(42)
  return same
})
// @ts-expect-error the per-route setting is a boolean
app.get('/typed-wrong', { config: { pushRelations: { vulcain: 'no' } } }, async () => ({}))
await app.register(pushRelations, { vulcain: { maxSelectors: 8, maxSelectorDepth: 4, maxDirectiveBytes: 1024, query: false, relations: 'schema' }, push: true, pushDepth: 2, maxPushes: 5, pushTimeout: 100, pushHeaders: ['authorization'], earlyHints: true })
// @ts-expect-error relations is 'any' or 'schema'
await app.register(pushRelations, { vulcain: { relations: 'all' } })
// @ts-expect-error unknown Vulcain limits are rejected
await app.register(pushRelations, { vulcain: { maxSelector: 8 } })

// Cache tags: the option, the per-route purge function, the decorators.
await app.register(pushRelations, { cacheTags: { header: 'xkey', maxBytes: 2048, fallback: 'private', purge: { kind: 'xkey', urls: ['http://varnish:6081/'], mode: 'before-response', onPurgeError: (failure: PurgeFailure) => { expectType<readonly string[]>(failure.tags) } } } })
await app.register(pushRelations, { cacheTags: true })
// @ts-expect-error the header formats are a closed list
await app.register(pushRelations, { cacheTags: { header: 'X-Tags' } })
app.put('/typed-purge', { config: { pushRelations: { purge: (_request, _reply, payload) => [String(payload)] } } }, async () => ({}))
app.put('/typed-no-purge', { config: { pushRelations: { purge: false } } }, async () => ({}))
const purged: PurgeResult = await app.pushRelations.purge(['/authors/1'])
expectType<readonly PurgeFailure[]>(purged.failures)
expectType<number | undefined>(app.pushRelations.stats().cacheTags?.purges.failures)
