// Type tests for CommonJS consumers (`require`) without TypeBox: plain JSON Schema. Checked by
// `npm run typecheck` and in the tarball's consumer project, which has no TypeBox installed
// (test/package.test.ts), never run.
import Fastify = require('fastify')
import pushRelations = require('fastify-push-relations')

function expectType<T> (value: T): T {
  return value
}

const app = Fastify.default({ ajv: { plugins: [pushRelations.ajvPlugin] } })
app.register(pushRelations, { maxLinks: 5, push: true, vulcain: { query: false } })
app.register(pushRelations.default)
app.register(pushRelations.pushRelations)
app.register(pushRelations.fastifyPushRelations)
expectType<typeof pushRelations.default>(pushRelations.fastifyPushRelations)
const author = pushRelations.Push({ type: 'string' } as const, '/authors/{id}')
expectType<{ readonly type: 'string' }>(author)
expectType<string>(pushRelations.KEYWORD)
const options: pushRelations.PushRelationsOptions = { crossorigin: 'anonymous', earlyHints: true }
app.register(pushRelations, options)
// @ts-expect-error options are typed for CommonJS consumers too
app.register(pushRelations, { maxLinks: true })
// @ts-expect-error a bad annotation is rejected
pushRelations.Push({ type: 'string' }, { rel: 'preload', href: '/a' })

app.get('/books/:id', {
  schema: { response: { 200: { type: 'object', properties: { author } } } },
  config: { pushRelations: { vulcain: false } }
}, async (_request, reply) => {
  const same: typeof reply = reply.preload('/authors/1')
  return same
})
const routes: pushRelations.RoutePreloads[] = app.pushRelations.routes()
expectType<string | undefined>(routes[0]?.url)
