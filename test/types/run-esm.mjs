// Run in the tarball's consumer project (test/package.test.ts), from the folder that has both
// TypeBox lines installed: the package as an ES module, with `@sinclair/typebox` 0.34 and
// `@fastify/type-provider-typebox` 5.x, `typebox` 1.x and 6.x, and plain JSON Schema.
// Prints one JSON line for the test to compare.
import Fastify from 'fastify'
import { createRequire } from 'node:module'
import { Type as Type034 } from '@sinclair/typebox'
import Type1 from 'typebox'
import { TypeBoxValidatorCompiler as validator5 } from '@fastify/type-provider-typebox'
import { TypeBoxValidatorCompiler as validator6 } from 'type-provider-typebox-6'
import pushRelations, { fastifyPushRelations, pushRelations as named, Push, ajvPlugin, KEYWORD } from 'fastify-push-relations'

const required = createRequire(import.meta.url)('fastify-push-relations')

const books = {
  sinclair: Type034.Object({ author: Push(Type034.String()), reviews: Push(Type034.Array(Type034.Integer()), '/reviews/{id}') }),
  typebox1: Type1.Object({ author: Push(Type1.String()), reviews: Push(Type1.Array(Type1.Integer()), '/reviews/{id}') }),
  plain: { type: 'object', properties: { author: { type: 'string', 'x-push': true }, reviews: { type: 'array', items: { type: 'integer' }, 'x-push': '/reviews/{id}' } } }
}
/** @type {Record<string, import('fastify').FastifySchemaCompiler<any> | undefined>} */
const validators = { sinclair: validator5, typebox1: validator6, plain: undefined }

const app = Fastify({ ajv: { plugins: [ajvPlugin] } })
await app.register(fastifyPushRelations)
for (const [name, Book] of Object.entries(books)) {
  const validatorCompiler = validators[name]
  app.post(`/${name}`, {
    schema: { body: Book, response: { 200: Book } },
    ...(validatorCompiler === undefined ? {} : { validatorCompiler })
  }, async (request, reply) => {
    reply.preload('/publishers/1')
    return request.body
  })
}
/** @type {Record<string, unknown>} */
const links = {}
for (const name of Object.keys(books)) {
  const response = await app.inject({ method: 'POST', url: `/${name}`, payload: { author: '/authors/1', reviews: [7] } })
  links[name] = response.headers.link
}
console.log(JSON.stringify({
  links,
  same: pushRelations === required && named === pushRelations && fastifyPushRelations === pushRelations && required.fastifyPushRelations === pushRelations,
  KEYWORD,
  routes: app.pushRelations.routes().map((route) => `${route.method} ${route.url}`)
}))
await app.close()
