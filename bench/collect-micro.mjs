// @ts-check
// In-process micro-benchmark of what the plugin costs per response on the bench's book and
// collection routes, against the hand-written hooks of bench/apps.mjs: quick A/B iterations
// between runs of `node bench/run.mjs overhead`, which stays the real measure. Build first
// (`npm run build`).
//
//   node bench/collect-micro.mjs                      # direct calls of the route's hooks
//   node bench/collect-micro.mjs --mode=inject        # whole requests through fastify.inject
//   node bench/collect-micro.mjs --base=/tmp/dist-a   # also the plugin built in another dist/
//
// direct: the route's preSerialization and onSend hooks, taken from a real Fastify app, are
// called on a stand-in reply, so the figure is the hooks' own cost (Fastify's is left out).
// inject: `fastify.inject` requests, so the figure is a whole request, as the overhead part
// measures it (but with inject's own cost in both). The variants take turns, N requests each,
// in rounds; only ratios of medians are printed: absolute figures mean little on a shared machine.
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import { bookData, bookLinkHook, bookSchema, collectionData, collectionLinkHook, collectionSchema } from './apps.mjs'

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'direct' },
    n: { type: 'string', default: '' },
    rounds: { type: 'string', default: '9' },
    dist: { type: 'string', default: 'dist' },
    base: { type: 'string' },
    routes: { type: 'string', default: 'book,collection' }
  }
})
const inject = args.mode === 'inject'
const N = Number(args.n === '' ? (inject ? 20_000 : 100_000) : args.n)
const ROUNDS = Number(args.rounds)

/**
 * @typedef {{ preSerialization: Function[], onSend: Function[] }} Hooks
 * @typedef {{ name: string, app: import('fastify').FastifyInstance, hooks: Hooks, kLinks: symbol | null }} Variant
 */

/** @param {string} dist */
async function loadPlugin (dist) {
  const base = pathToFileURL(resolve(dist) + '/').href
  const entry = await import(base + 'entry-esm.mjs')
  // deliver/ since lib/ is laid out by stage; at the top of dist/ in builds from before (0.2.0)
  const { kLinks } = await import(base + 'deliver/reply-links.js').catch(async () => await import(base + 'reply-links.js'))
  return { plugin: entry.default, kLinks }
}

/**
 * One app with the route, and the hooks Fastify will run for it.
 * @param {'book' | 'collection'} route
 * @param {any} plugin null: the hand-written hook
 */
async function buildVariant (route, plugin) {
  const app = Fastify()
  if (plugin !== null) await app.register(plugin)
  /** @type {Hooks} */
  const hooks = { preSerialization: [], onSend: [] }
  app.addHook('onRoute', (options) => {
    hooks.preSerialization = [options.preSerialization ?? []].flat()
    hooks.onSend = [options.onSend ?? []].flat()
  })
  const annotated = plugin !== null
  const schema = route === 'book' ? bookSchema(annotated) : collectionSchema(annotated)
  const payload = route === 'book' ? bookData(1) : collectionData()
  /** @type {import('fastify').preSerializationHookHandler<unknown>} */
  const handWritten = /** @type {any} */ (route === 'book' ? bookLinkHook : collectionLinkHook)
  app.get(route === 'book' ? '/books/:id' : '/books', { schema: { response: { 200: schema } }, ...(plugin === null ? { preSerialization: handWritten } : {}) }, async () => payload)
  await app.ready()
  return { app, hooks, payload, url: route === 'book' ? '/books/1' : '/books' }
}

const noop = () => {}
const log = { debug: noop, warn: noop, info: noop, error: noop, trace: noop }

const INVALID_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/

/** What the hooks read of a reply. */
class StandInReply {
  /** @param {object} request @param {symbol | null} kLinks */
  constructor (request, kLinks) {
    this.request = request
    this.statusCode = 200
    this.sent = false
    /** @type {Record<string, unknown>} */
    this.headers = {}
    this.log = log
    if (kLinks !== null) /** @type {any} */ (this)[kLinks] = null
  }

  /** @param {string} name */
  getHeader (name) { return this.headers[name] }
  /** @param {string} name @param {unknown} value */
  header (name, value) {
    // What Node does with every header value before writing it (and what makes a string flat).
    if (typeof value === 'string' && INVALID_HEADER_CHAR.test(value)) throw new Error('invalid header value')
    this.headers[name] = value
    return this
  }
}

/**
 * N responses through the hooks, called directly; ns per response.
 * @param {{ hooks: Hooks, payload: object, kLinks: symbol | null }} variant
 */
function directRun ({ hooks, payload, kLinks }) {
  const request = { method: 'GET', url: '/books/1', headers: {}, raw: {}, log, protocol: 'http', host: 'localhost' }
  /** @type {unknown} */
  let out = null
  const done = (/** @type {unknown} */ _error, /** @type {any} */ value) => { out = value }
  const start = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    const reply = new StandInReply(request, kLinks)
    /** @type {unknown} */
    let value = payload
    for (const hook of hooks.preSerialization) {
      hook(request, reply, value, done)
      value = out
    }
    for (const hook of hooks.onSend) hook(request, reply, '{}', done)
    if (reply.headers.link === undefined) throw new Error('no Link header')
  }
  return Number(process.hrtime.bigint() - start) / N
}

/** @param {{ app: import('fastify').FastifyInstance, url: string }} variant */
async function injectRun ({ app, url }) {
  const start = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    const response = await app.inject({ method: 'GET', url })
    if (response.headers.link === undefined) throw new Error('no Link header')
    // Without a turn of the event loop now and then, what inject leaves to setImmediate piles
    // up (the heap grows by about 10 KB a request, and GC then dominates every variant).
    if (i % 100 === 0) await new Promise(setImmediate)
  }
  return Number(process.hrtime.bigint() - start) / N
}

/** @param {number[]} values */
function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  return /** @type {number} */ (sorted[Math.floor(sorted.length / 2)])
}

const plugins = [{ name: 'plugin', ...(await loadPlugin(args.dist)) }]
if (args.base !== undefined) plugins.push({ name: 'plugin@base', ...(await loadPlugin(args.base)) })

console.log(`mode ${inject ? 'inject' : 'direct'}, ${N} responses per variant per round, ${ROUNDS} rounds (the first is warm-up), Node ${process.version}`)
for (const route of /** @type {Array<'book' | 'collection'>} */ (args.routes.split(','))) {
  const variants = [{ name: 'hook', kLinks: null, ...(await buildVariant(route, null)) }]
  for (const { name, plugin, kLinks } of plugins) variants.push({ name, kLinks, ...(await buildVariant(route, plugin)) })
  /** @type {Map<string, number[]>} */
  const times = new Map(variants.map(({ name }) => [name, []]))
  for (let round = 0; round < ROUNDS; round++) {
    // A different order each round: no variant always runs right after the same one.
    const order = round % 2 === 0 ? variants : [...variants].reverse()
    for (const variant of order) {
      const ns = inject ? await injectRun(variant) : directRun(variant)
      if (round > 0) times.get(variant.name)?.push(ns)
    }
  }
  const hook = median(times.get('hook') ?? [])
  const cells = plugins.map(({ name }) => `${name} / hook ${(hook / median(times.get(name) ?? [])).toFixed(3)}`)
  if (args.base !== undefined) cells.push(`plugin / plugin@base ${(median(times.get('plugin@base') ?? []) / median(times.get('plugin') ?? [])).toFixed(3)}`)
  console.log(`${route}: responses per second, ratios of medians: ${cells.join(', ')}`)
  for (const variant of variants) await variant.app.close()
}
