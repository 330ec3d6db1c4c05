// @ts-check
// The cache part of the benchmarks (issue #12): the example bookshop behind two Varnish nodes
// (the BAN VCL of docs/caching.md), a read-heavy mix with 5 % writes.
//
//   npm run build && node bench/cache.mjs [--duration=S] [--connections=N] [--rounds=N]
//
// Reports: origin requests per client request and the hit ratio under the mix; p50/p99 latency
// of the same mix through the cache and straight to the app; the time from a write's response
// to both nodes serving fresh data; and the cost of computing tags (GET /books/1 throughput of
// the app with `cacheTags` over the same app without, in alternating rounds, servers in their
// own processes).
import { fork, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'

const here = fileURLToPath(new URL('.', import.meta.url))
const require = createRequire(import.meta.url)
/** @type {(options: { url: string, connections: number, duration: number }) => Promise<{ requests: { average: number }, non2xx: number, errors: number }>} */
const autocannon = require('autocannon')

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    serve: { type: 'string' }
  }
})

const READS = ['/books/1', '/books/2', '/books', '/authors/1', '/authors/2', '/publishers/1', '/publishers/2', '/reviews/1']

/**
 * @param {string} kind
 * @param {number} port
 */
function vcl (kind, port) {
  const doc = readFileSync(join(here, '..', 'docs', 'caching.md'), 'utf8').split('\n')
  const start = doc.indexOf(`<!-- vcl: ${kind} -->`) + 2
  return doc.slice(start, doc.indexOf('```', start)).join('\n').replace('.port = "3000";', `.port = "${port}";`)
}

function freePort () {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address())
      server.close(() => { resolve(port) })
    })
  })
}

/** @param {number} backendPort */
async function startVarnish (backendPort) {
  const port = /** @type {number} */ (await freePort())
  const dir = mkdtempSync(join(tmpdir(), 'bench-varnish-'))
  chmodSync(dir, 0o755)
  writeFileSync(join(dir, 'default.vcl'), vcl('ban', backendPort))
  const child = spawn('varnishd', ['-F', '-a', `127.0.0.1:${port}`, '-n', join(dir, 'n'), '-f', join(dir, 'default.vcl'), '-s', 'malloc,64m', '-T', 'none'], { detached: true, stdio: 'ignore' })
  for (;;) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) }).on('error', () => { resolve(false) })
    })
    if (up) break
    await sleep(50)
  }
  return {
    port,
    stop: () => { process.kill(-(/** @type {number} */ (child.pid)), 'SIGTERM'); rmSync(dir, { recursive: true, force: true }) }
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

/**
 * @param {number} port
 * @param {string} path
 * @param {string} [method]
 * @param {unknown} [body]
 * @returns {Promise<{ status: number, hit: boolean, body: string, ms: number }>}
 */
function send (port, path, method = 'GET', body = undefined) {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const request = http.request({ host: '127.0.0.1', port, path, method, agent, headers: payload === undefined ? {} : { 'content-type': 'application/json' } }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk) => { text += chunk })
      response.on('end', () => {
        const hit = String(response.headers['x-varnish'] ?? '').trim().split(/\s+/).length === 2
        resolve({ status: /** @type {number} */ (response.statusCode), hit, body: text, ms: performance.now() - started })
      })
    })
    request.on('error', reject)
    request.end(payload)
  })
}

const percentile = (/** @type {number[]} */ values, /** @type {number} */ p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN
}

/** The mix: `connections` loops for `seconds`, 5 % renames, over the given ports in turn. */
/**
 * @param {number[]} ports
 * @param {number} seconds
 * @param {number} connections
 */
async function mix (ports, seconds, connections) {
  /** @type {number[]} */
  const latencies = []
  let requests = 0
  let hits = 0
  let writes = 0
  const end = performance.now() + seconds * 1000
  await Promise.all(Array.from({ length: connections }, async (_, worker) => {
    for (let i = worker; performance.now() < end; i++) {
      const port = /** @type {number} */ (ports[i % ports.length])
      const write = Math.random() < 0.05
      const answer = write
        ? await send(port, `/authors/${1 + (i % 2)}`, 'PUT', { name: `Name ${i}` })
        : await send(port, /** @type {string} */ (READS[Math.floor(Math.random() * READS.length)]))
      latencies.push(answer.ms)
      requests++
      if (write) writes++
      else if (answer.hit) hits++
    }
  }))
  return { requests, writes, hits, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
}

async function main () {
  const seconds = Number(flags.duration)
  const connections = Number(flags.connections)
  const rounds = Number(flags.rounds)
  const { buildBookshop } = await import('../example/bookshop.mjs')

  // (1) + (2): the mix through two nodes, then straight to the app.
  const origin = { count: 0 }
  const backendPort = /** @type {number} */ (await freePort())
  const nodes = []
  // The nodes start first (their VCL names the app's port); the app then purges them.
  for (let i = 0; i < 2; i++) nodes.push(await startVarnish(backendPort))
  const shop = await buildBookshop({ pushRelations: { cacheTags: { purge: { urls: nodes.map((node) => `http://127.0.0.1:${node.port}/`) } } } })
  shop.addHook('onRequest', async () => { origin.count++ })
  await shop.listen({ port: backendPort, host: '127.0.0.1' })
  try {
    const cached = await mix(nodes.map((node) => node.port), seconds, connections)
    const originRequests = origin.count
    const direct = await mix([backendPort], seconds, connections)
    console.log('\n## Cache: the bookshop behind two Varnish nodes (BAN), 95 % reads, 5 % writes\n')
    console.log('| | requests | origin requests per client request | hit ratio (reads) | p50 ms | p99 ms |\n|---|---|---|---|---|---|')
    console.log(`| through the cache | ${cached.requests} | ${(originRequests / cached.requests).toFixed(3)} | ${(cached.hits / (cached.requests - cached.writes)).toFixed(3)} | ${cached.p50.toFixed(2)} | ${cached.p99.toFixed(2)} |`)
    console.log(`| straight to the app | ${direct.requests} | 1.000 | - | ${direct.p50.toFixed(2)} | ${direct.p99.toFixed(2)} |`)

    // (3): from a write's response to both nodes serving the new name.
    const delays = []
    for (let i = 0; i < 20; i++) {
      for (const node of nodes) await send(node.port, '/authors/1')
      const name = `Fresh ${i}`
      await send(nodes[0]?.port ?? 0, '/authors/1', 'PUT', { name })
      const written = performance.now()
      for (const node of nodes) {
        while (JSON.parse((await send(node.port, '/authors/1')).body).name !== name) await sleep(1)
      }
      delays.push(performance.now() - written)
    }
    console.log(`\nWrite response -> both nodes fresh (after-response mode, 20 writes): p50 ${percentile(delays, 0.5).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms`)
    const stats = shop.pushRelations.stats().cacheTags
    console.log(`Purges: ${JSON.stringify(stats?.purges)}`)
  } finally {
    await shop.close()
    for (const node of nodes) node.stop()
  }

  // (4): the cost of computing tags: GET /books/1, alternating rounds, ratio per round.
  const ratios = []
  for (let round = 0; round < rounds; round++) {
    /** @type {Record<string, number>} */
    const results = {}
    for (const variant of ['plain', 'tags']) {
      const child = fork(fileURLToPath(import.meta.url), [`--serve=${variant}`], { stdio: 'ignore' })
      const port = await new Promise((resolve) => child.once('message', resolve))
      const result = await autocannon({ url: `http://127.0.0.1:${port}/books/1`, connections: 10, duration: seconds })
      results[variant] = result.requests.average
      child.disconnect()
    }
    ratios.push((results['tags'] ?? 0) / (results['plain'] ?? 1))
  }
  console.log(`\nTags cost, GET /books/1 with cacheTags / without (req/s ratio per round): ${ratios.map((ratio) => ratio.toFixed(3)).join(', ')}; median ${percentile(ratios, 0.5).toFixed(3)}`)
  agent.destroy()
}

// --- child mode: one bookshop, with or without cacheTags ------------------------------------
if (flags.serve !== undefined) {
  const { buildBookshop } = await import('../example/bookshop.mjs')
  const app = await buildBookshop({ pushRelations: flags.serve === 'tags' ? { cacheTags: true } : {} })
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.send?.(/** @type {import('node:net').AddressInfo} */ (app.server.address()).port)
  process.on('disconnect', () => { app.close().then(() => process.exit(0)) })
} else {
  await main()
}
