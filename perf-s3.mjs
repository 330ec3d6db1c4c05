import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import pushRelations, { Push } from '/work/wt/vulcain/dist/index.js'
const app = Fastify()
if (process.env.PLUGIN) await app.register(pushRelations, { vulcain: true })
const Book = Type.Object({ '@id': Type.String(), title: Type.String(), author: Push(Type.String()) })
app.get('/books/:id', { schema: { response: { 200: Book } } }, async () => ({ '@id': '/books/1', title: 'x', author: '/authors/1' }))
await app.ready()
const reqs = { s3: { url: '/books/1?preload=%22%2Fauthor%22&fields=%22%2Ftitle%22%2C%22%2Fauthor%22' }, s1: { url: '/books/1', headers: { preload: '"/author"', fields: '"/title", "/author"' } }, q: { url: '/books/1?x=1' } }
for (const [n, req] of Object.entries(reqs)) {
  global.gc?.()
  const m0 = process.memoryUsage().heapUsed
  const s = process.cpuUsage()
  for (let i = 0; i < 10000; i++) await app.inject(req)
  const u = process.cpuUsage(s)
  global.gc?.()
  console.log(n, ((u.user + u.system) / 10000).toFixed(1), 'us/req', ((process.memoryUsage().heapUsed - m0) / 1e6).toFixed(1), 'MB retained')
}
