// @ts-check
// Soak test for native push: many requests with pushes over many HTTP/2 sessions, some
// pushed streams reset by the client, some sessions torn down mid-flight. Prints, as JSON,
// what the server holds after a warm-up and after the run: heap (after GC), active handles
// and timers, open sessions and streams, and the heap after each STEP requests. Run with
// `node --expose-gc bench/push-soak.mjs [N [STEP]]` (default 1,000 and 1,000); `npm run bench`
// runs 4,000, test/push-soak.test.ts a short run.
import http2 from 'node:http2'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import pushRelations, { Push } from 'fastify-push-relations'

const total = Number(process.argv[2] ?? 1000)
const step = Number(process.argv[3] ?? 1000)
const perSession = 50
const gc = /** @type {() => void} */ (globalThis.gc)
if (typeof gc !== 'function') throw new Error('run with --expose-gc')

// Node keeps a closed session referenced from its idle timer until the timer fires; with
// Fastify's default http2SessionTimeout (72 s) every session of the run would still be held.
const app = Fastify({ http2: true, http2SessionTimeout: Number(process.env.SESSION_TIMEOUT_MS ?? 1000) })
await app.register(pushRelations, { push: process.env.PUSH !== '0', pushDepth: 2, pushTimeout: Number(process.env.PUSH_TIMEOUT_MS ?? 200) })
const Book = Type.Object({ '@id': Type.String(), links: Push(Type.Array(Type.String())) })
app.get('/books/:id', { schema: { response: { 200: Book } } }, async (request) => {
  const { id } = /** @type {{ id: string }} */ (request.params)
  return { '@id': `/books/${id}`, links: [`/authors/${id}`, `/reviews/${id}`, '/publishers/1', `/slow/${id}`] }
})
app.get('/authors/:id', { schema: { response: { 200: Book } } }, async (request) => {
  const { id } = /** @type {{ id: string }} */ (request.params)
  return { '@id': `/authors/${id}`, links: [`/books/${Number(id) + 1}`] }
})
app.get('/reviews/:id', async (request) => ({ '@id': request.url, body: 'x'.repeat(2000) }))
app.get('/publishers/:id', async (request) => ({ '@id': request.url }))
// Every fourth one answers after pushTimeout: its push is cancelled.
app.get('/slow/:id', async (request) => {
  const { id } = /** @type {{ id: string }} */ (request.params)
  if (Number(id) % 4 === 0) await new Promise((resolve) => setTimeout(resolve, Number(process.env.SLOW_MS ?? 250)))
  return { '@id': request.url }
})

let openSessions = 0
let openStreams = 0
app.server.on('session', (session) => {
  openSessions++
  session.on('close', () => { openSessions-- })
  session.on('stream', (stream) => {
    openStreams++
    stream.on('close', () => { openStreams-- })
  })
})
await app.listen({ host: '127.0.0.1', port: 0 })
const address = /** @type {import('node:net').AddressInfo} */ (app.server.address())
const origin = `http://127.0.0.1:${address.port}`

/**
 * One session of `count` requests; resets some pushes, and may destroy itself mid-way.
 * @param {number} first
 * @param {number} count
 * @param {{ resetEvery?: number, destroyAt?: number }} [options]
 */
async function runSession (first, count, { resetEvery = 5, destroyAt = -1 } = {}) {
  const session = http2.connect(origin, { settings: { enablePush: true } })
  session.on('error', () => {})
  let pushes = 0
  session.on('stream', (stream) => {
    pushes++
    stream.on('error', () => {})
    // Read everything (a paused stream never closes), and reset some pushes as a client that
    // has the resource cached would: at once, or once the push has started.
    stream.resume()
    if (pushes % resetEvery === 0) stream.close(http2.constants.NGHTTP2_CANCEL)
    else if (pushes % resetEvery === 1) setImmediate(() => { stream.close(http2.constants.NGHTTP2_CANCEL) })
  })
  for (let i = 0; i < count; i++) {
    if (i === destroyAt) {
      session.destroy()
      return { pushes, completed: i }
    }
    await new Promise((resolve) => {
      const request = session.request({ ':path': `/books/${first + i}` })
      request.on('error', resolve)
      request.on('close', resolve)
      request.resume()
    })
  }
  await new Promise((resolve) => session.close(() => resolve(undefined)))
  return { pushes, completed: count }
}

/** @param {number} count */
async function run (count) {
  let pushes = 0
  let requests = 0
  const sessions = []
  for (let first = 0; first < count; first += perSession) {
    const n = Math.min(perSession, count - first)
    // Every fifth session is torn down by the client in the middle of its requests.
    const destroyAt = (first / perSession) % 5 === 4 ? Math.floor(n / 2) : -1
    sessions.push(runSession(first, n, { destroyAt }))
    if (sessions.length === 4) {
      for (const result of await Promise.all(sessions.splice(0))) { pushes += result.pushes; requests += result.completed }
    }
  }
  for (const result of await Promise.all(sessions)) { pushes += result.pushes; requests += result.completed }
  return { pushes, requests }
}

async function snapshot () {
  // Let cancelled pushes' late answers and closing sessions settle before counting.
  await new Promise((resolve) => setTimeout(resolve, 500))
  for (let i = 0; i < 3; i++) gc()
  const resources = process.getActiveResourcesInfo().reduce((counts, type) => {
    counts[type] = (counts[type] ?? 0) + 1
    return counts
  }, /** @type {Record<string, number>} */ ({}))
  return { heapUsed: process.memoryUsage().heapUsed, resources, openSessions, openStreams }
}

const warmup = await run(200)
const before = await snapshot()
const began = Date.now()
const series = []
let measured = { pushes: 0, requests: 0 }
for (let done = 0; done < total; done += Math.min(step, total - done)) {
  const part = await run(Math.min(step, total - done))
  measured = { pushes: measured.pushes + part.pushes, requests: measured.requests + part.requests }
  series.push((await snapshot()).heapUsed)
}
const seconds = (Date.now() - began) / 1000
const after = await snapshot()
await app.close()
console.log(JSON.stringify({ total, step, warmup, measured, seconds, before, after, series }))
