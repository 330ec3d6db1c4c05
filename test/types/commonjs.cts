// Type tests for CommonJS consumers (`require`): checked by `npm run typecheck`, never run.
import Fastify = require('fastify')
import typebox = require('@sinclair/typebox')
import pushRelations = require('fastify-push-relations')

function expectType<T> (value: T): T {
  return value
}

const app = Fastify.default()
app.register(pushRelations, { maxLinks: 5 })
app.register(pushRelations.default)
app.register(pushRelations.pushRelations)
const schema = pushRelations.Push(typebox.Type.String())
expectType<typebox.TString>(schema)
expectType<string>(pushRelations.KEYWORD)
// @ts-expect-error options are typed for CommonJS consumers too
app.register(pushRelations, { maxLinks: true })
