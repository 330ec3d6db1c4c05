'use strict'
// Run in the tarball's consumer project (test/package.test.ts), where no TypeBox is installed:
// `require()` gets the plugin, works with plain JSON Schema, and is the instance `import` gets.
// Prints one JSON line for the test to compare.
const Fastify = require('fastify')
const pushRelations = require('fastify-push-relations')

async function main () {
  const app = Fastify()
  await app.register(pushRelations.fastifyPushRelations)
  const Book = { type: 'object', properties: { author: pushRelations.Push({ type: 'string' }) } }
  app.get('/books/1', { schema: { response: { 200: Book } } }, async (_request, reply) => {
    reply.preload('/publishers/1')
    return { author: '/authors/1' }
  })
  const response = await app.inject('/books/1')
  const imported = await import('fastify-push-relations')
  console.log(JSON.stringify({
    link: response.headers.link,
    type: typeof pushRelations,
    named: pushRelations.default === pushRelations && pushRelations.pushRelations === pushRelations && pushRelations.fastifyPushRelations === pushRelations,
    imported: imported.default === pushRelations && imported.fastifyPushRelations === pushRelations,
    meta: /** @type {Record<symbol, unknown>} */ (/** @type {unknown} */ (pushRelations))[Symbol.for('plugin-meta')]
  }))
  await app.close()
}

main()
