// @ts-check
// `npm start`: serves the example bookshop on 127.0.0.1:3000 (HOST and PORT override).
import { buildBookshop } from './bookshop.mjs'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)

const app = await buildBookshop({
  fastify: { logger: { level: process.env.LOG_LEVEL ?? 'info' } },
  pushRelations: { vulcain: true }
})
const address = await app.listen({ host, port })
console.log(`
The bookshop API is listening on ${address}. See its preload links with:

  curl -sI ${address}/books/1
  curl -sI ${address}/books
  curl -s  ${address}/books/1 -D - -o /dev/null | grep -i '^link'

and choose fields and relations with the Vulcain protocol:

  curl -s -H 'Fields: "/title", "/author"' -H 'Preload: "/author"' -D - ${address}/books/1

Stop it with Ctrl+C.`)

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}
