// Type tests for ES module consumers without TypeBox (plain JSON Schema): checked by
// `npm run typecheck` and in the tarball's consumer project, which has no TypeBox installed
// (test/package.test.ts), never run. The package's declarations must not need TypeBox.
import Fastify from 'fastify'
import pushRelations, { ajvPlugin, Push, type PushRelationsOptions } from 'fastify-push-relations'

const app = Fastify({ ajv: { plugins: [ajvPlugin] } })
const options: PushRelationsOptions = { nopush: true, origins: ['https://api.example.com'] }
await app.register(pushRelations, options)
// @ts-expect-error unknown options are rejected
await app.register(pushRelations, { pushDepht: 2 })
const Book = {
  type: 'object',
  properties: { author: Push({ type: 'string' }), reviews: { type: 'array', items: { type: 'string', 'x-push': true } } }
}
app.get('/books/:id', { schema: { response: { 200: Book } } }, async (_request, reply) => {
  reply.preload('/authors/1').header('x-seen', '1')
  return { author: '/authors/1', reviews: [] }
})
// @ts-expect-error a bad annotation is rejected
Push({ type: 'string' }, { crossorigin: 'always' })
app.pushRelations.routes()
