// @ts-check
// Part "latency": does preloading pay? A book and its 10 related resources, fetched through a
// link with a round-trip time (bench/delay-proxy.mjs), in the cases where the plugin's outputs
// can save time and in those where they cannot. Each case is timed from before the connection
// opens to the last byte of the last resource, `settings.latencyIterations` times, on new
// connections. `node bench/run.mjs latency [--rtt=50]`.
//
// Fast: the handler knows the book at once (a small JSON body):
//   HTTP/1.1 one by one | HTTP/2, relations read from the body (no Link, no push) |
//   HTTP/2, requests on the Link header | HTTP/2 native push.
// Slow: the handler spends SLOW_BOOK_MS after it knows the relations, related resources take
// SLOW_RELATED_MS each: body discovery | Link header | reply.preload() + 103 Early Hints |
//   native push of the final links | native push from reply.preload().
// Proxy: h2o (pushes from the upstream's Link, or early from its 103) in front of the slow
//   app over HTTP/1.1, the delay between the client and h2o.
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BOOK_RELATIONS, bookRelations, SLOW_BOOK_MS, SLOW_RELATED_MS } from '../apps.mjs'
import { fetchHttp1, fetchHttp2 } from '../preload-latency.mjs'
import { fmt, forkReady, freePort, median, progress, settings, spread, startServer, stopChild, table } from '../runner.mjs'

/**
 * @typedef {import('../preload-latency.mjs').FetchResult} FetchResult
 * @typedef {object} Case
 * @property {string} section
 * @property {string} label
 * @property {'fast-h1' | 'fast-h2' | 'slow-h2' | 'h2o'} via
 * @property {(port: number) => Promise<FetchResult>} fetch
 * @property {(rtt: number) => number} model expected ms: round trips and server work on the critical path
 * @property {string} modelText
 * @property {number} work server work on the critical path, ms (the rest is round trips)
 */

/** @param {unknown} body */
const relationsOf = (body) => bookRelations(/** @type {Parameters<typeof bookRelations>[0]} */ (body))
const W = SLOW_BOOK_MS
const R = SLOW_RELATED_MS

const FAST = 'fast handler'
const SLOW = `slow handler: ${W} ms of work, related ${R} ms each`
const H2O = 'h2o in front of the slow app (HTTP/1.1)'

/**
 * @param {string} section
 * @param {string} label
 * @param {Case['via']} via
 * @param {number} rtts round trips on the critical path
 * @param {number} work server work on the critical path, ms
 * @param {Case['fetch']} fetch
 * @returns {Case}
 */
function caseOf (section, label, via, rtts, work, fetch) {
  return { section, label, via, work, fetch, model: (rtt) => rtts * rtt + work, modelText: work === 0 ? `${rtts} RTT` : `${rtts} RTT + ${work} ms` }
}

/** @type {Case[]} */
const CASES = [
  caseOf(FAST, 'HTTP/1.1, one by one (Link)', 'fast-h1', 12, 0, (port) => fetchHttp1(port, '/books/1')),
  caseOf(FAST, 'HTTP/2, relations read from the body', 'fast-h2', 3, 0, (port) => fetchHttp2(port, '/books/1', { push: false, discovery: 'body', relationsOf })),
  caseOf(FAST, 'HTTP/2, requests on the Link header', 'fast-h2', 3, 0, (port) => fetchHttp2(port, '/books/1', { push: false, discovery: 'link' })),
  caseOf(FAST, 'HTTP/2, native push', 'fast-h2', 2, 0, (port) => fetchHttp2(port, '/books/1', { push: true, discovery: 'link' })),
  caseOf(SLOW, 'HTTP/2, relations read from the body', 'slow-h2', 3, W + R, (port) => fetchHttp2(port, '/books/1', { push: false, discovery: 'body', relationsOf })),
  caseOf(SLOW, 'HTTP/2, Link header of the response', 'slow-h2', 3, W + R, (port) => fetchHttp2(port, '/books/1', { push: false, discovery: 'link' })),
  // The related requests leave with the 103 and come back during the work: max(2 RTT + W, 3 RTT + R).
  caseOf(SLOW, 'HTTP/2, reply.preload() + 103 Early Hints', 'slow-h2', 2, W, (port) => fetchHttp2(port, '/early/books/1', { push: false, discovery: 'hints' })),
  caseOf(SLOW, 'HTTP/2, native push of the response\'s links', 'slow-h2', 2, W + R, (port) => fetchHttp2(port, '/books/1', { push: true, discovery: 'link' })),
  caseOf(SLOW, 'HTTP/2, native push from reply.preload()', 'slow-h2', 2, W, (port) => fetchHttp2(port, '/early/books/1', { push: true, discovery: 'hints' })),
  caseOf(H2O, 'no push, Link header', 'h2o', 3, W + R, (port) => fetchHttp2(port, '/books/1', { push: false, discovery: 'link' })),
  caseOf(H2O, 'h2o pushes from the final Link', 'h2o', 2, W + R, (port) => fetchHttp2(port, '/books/1', { push: true, discovery: 'link' })),
  caseOf(H2O, 'h2o pushes early, from reply.preload()\'s 103', 'h2o', 2, W, (port) => fetchHttp2(port, '/early/books/1', { push: true, discovery: 'hints' }))
]

/**
 * h2o 2.2 as an HTTP/2 (h2c) reverse proxy that pushes from the upstream's preload links
 * (the config test/helpers/proxies.ts runs). Null when h2o is not installed.
 * @param {number} upstreamPort
 */
async function startH2o (upstreamPort) {
  if (spawnSync('h2o', ['--version'], { stdio: 'ignore' }).status !== 0) return null
  const dir = mkdtempSync(join(tmpdir(), 'bench-h2o-'))
  chmodSync(dir, 0o755)
  const port = await freePort()
  const config = [
    'error-log: /dev/null',
    'num-threads: 1',
    ...(process.getuid?.() === 0 ? ['user: nobody'] : []),
    'http2-push-preload: ON',
    'listen:',
    '  host: 127.0.0.1',
    `  port: ${port}`,
    'hosts:',
    '  default:',
    '    paths:',
    '      /:',
    `        proxy.reverse.url: http://127.0.0.1:${upstreamPort}/`,
    '        proxy.preserve-host: ON'
  ]
  writeFileSync(join(dir, 'h2o.conf'), config.join('\n') + '\n')
  // h2o's neverbleed leaves /tmp/openssl-privsep.* folders behind: remove the ones it made.
  const privsepBefore = new Set(readdirSync('/tmp').filter((name) => name.startsWith('openssl-privsep.')))
  // Its own process group, so that its helper processes stop with it.
  const child = spawn('h2o', ['-c', join(dir, 'h2o.conf')], { detached: true, stdio: 'ignore' })
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => { child.once('exit', resolve) })
      try { process.kill(-child.pid, 'SIGTERM') } catch {}
      const timer = setTimeout(() => { try { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL') } catch {} }, 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
    for (const name of readdirSync('/tmp')) {
      if (name.startsWith('openssl-privsep.') && !privsepBefore.has(name)) rmSync(join('/tmp', name), { recursive: true, force: true })
    }
  }
  // Wait until it answers over HTTP/2.
  for (let attempt = 0; ; attempt++) {
    try {
      await fetchHttp2(port, '/authors/1', { push: false, discovery: 'link' })
      return { port, stop }
    } catch (error) {
      if (attempt === 100 || child.exitCode !== null) {
        await stop()
        throw new Error(`h2o did not start: ${error}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

export async function runLatency () {
  const rtt = settings.rtt
  const fastH1 = await startServer('latency-h1', { pinned: false })
  const fastH2 = await startServer('latency-h2', { pinned: false })
  const slowH2 = await startServer('latency-slow-h2', { pinned: false })
  const slowH1 = await startServer('latency-slow-h1', { pinned: false })
  const h2o = await startH2o(slowH1.port)
  /** @type {Record<Case['via'], number | null>} */
  const upstreams = { 'fast-h1': fastH1.port, 'fast-h2': fastH2.port, 'slow-h2': slowH2.port, h2o: h2o?.port ?? null }
  /** @type {Array<{ child: import('node:child_process').ChildProcess, port: number }>} */
  const proxies = []
  try {
    /** @type {Partial<Record<Case['via'], number>>} */
    const delayed = {}
    for (const [via, port] of Object.entries(upstreams)) {
      if (port === null) continue
      const proxy = await forkReady('delay-proxy.mjs', [String(port), String(rtt)])
      proxies.push(proxy)
      delayed[/** @type {Case['via']} */ (via)] = proxy.port
    }
    const cases = CASES.filter((one) => upstreams[one.via] !== null)
    /** @type {Map<Case, { direct: number[], delayed: FetchResult[] }>} */
    const results = new Map(cases.map((one) => [one, { direct: [], delayed: [] }]))
    // Warm-up straight to the servers (JIT, route compilation); the last ones are the no-delay reference.
    progress('latency: warm-up without delay...')
    for (let i = 0; i < 8; i++) {
      for (const one of cases) {
        const outcome = await one.fetch(/** @type {number} */ (upstreams[one.via]))
        if (i >= 5) results.get(one)?.direct.push(outcome.ttlb)
      }
    }
    progress(`latency: ${settings.latencyIterations} fetches per case through a ${rtt} ms RTT link...`)
    for (let i = 0; i < settings.latencyIterations; i++) {
      const shift = i % cases.length
      for (const one of [...cases.slice(shift), ...cases.slice(0, shift)]) {
        const outcome = await one.fetch(/** @type {number} */ (delayed[one.via]))
        if (outcome.resources !== BOOK_RELATIONS + 1) throw new Error(`${one.label}: ${outcome.resources} resources`)
        results.get(one)?.delayed.push(outcome)
      }
    }
    const rows = cases.map((one) => {
      const { direct, delayed: runs } = /** @type {{ direct: number[], delayed: FetchResult[] }} */ (results.get(one))
      const ttlb = runs.map((run) => run.ttlb)
      return [
        `${one.label}`,
        spread(ttlb, fmt.ms),
        (median(ttlb) / rtt).toFixed(1),
        ((median(ttlb) - one.work) / rtt).toFixed(1),
        `${one.modelText} = ${one.model(rtt)}`,
        `${median(runs.map((run) => run.requests))} / ${median(runs.map((run) => run.pushed))}`,
        fmt.ms(median(direct))
      ]
    })
    /** @type {string[][]} */
    const grouped = []
    let section = ''
    cases.forEach((one, i) => {
      if (one.section !== section) {
        section = one.section
        grouped.push([`[${section}]`, '', '', '', '', '', ''])
      }
      grouped.push(/** @type {string[]} */ (rows[i]))
    })
    const text = [
      `\n## Does preloading pay? A book and its ${BOOK_RELATIONS} related resources over a ${rtt} ms RTT link ` +
        `(delaying TCP proxy in Node; medians (min–max) of ${settings.latencyIterations} fetches, each on a new connection)\n`,
      table([`book + ${BOOK_RELATIONS} relations`, 'last byte, ms', 'ms / RTT', '(ms - server work) / RTT', 'model, ms', 'requests / pushed', 'no-delay ms'], grouped),
      ...(h2o === null ? ['h2o cases: skipped (h2o not installed)'] : [])
    ].join('\n')
    return { text, targets: [], raw: cases.map((one) => ({ label: one.label, section: one.section, model: one.model(rtt), ...results.get(one) })) }
  } finally {
    await Promise.all(proxies.map((proxy) => stopChild(proxy.child)))
    await h2o?.stop()
    await Promise.all([fastH1, fastH2, slowH2, slowH1].map((server) => server.stop()))
  }
}
