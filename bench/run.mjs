// @ts-check
// `npm run bench`: what the plugin costs, and whether preloading pays (issue #5).
//
//   node bench/run.mjs [--quick] [--only=throughput,sweep,memory,latency,soak,breakdown] [--skip=...]
//                      [--rounds=N] [--duration=S] [--connections=N] [--rtt=MS] [--no-pin]
//                      [--profile=scenario[@bytes],...] [--json=FILE]
//
// Every server runs in its own process (bench/server.mjs); this process only loads them with
// autocannon, so that the load generator and the server each have a core (pinned with taskset
// where it is there). Baseline and variants are loaded in turn, in several rounds, and each
// variant is reported as a ratio to the baseline of the same round: absolute figures drift on
// a shared machine, ratios much less. Each round also loads a group's servers all at once on
// the servers' core, a steadier cross-check of the same ratios. Runs disturbed by other
// processes are made again. docs/benchmarks.md describes the method and the last results.
import { execFile, fork, spawnSync } from 'node:child_process'
import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises'
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import http from 'node:http'
import { createRequire } from 'node:module'
import { BLOB_RELATIONS, BOOK_RELATIONS, COLLECTION_RELATIONS, pathOf, isScenario } from './apps.mjs'
import { fetchHttp1, fetchHttp2, preloadLinks } from './preload-latency.mjs'
import { formatSummary, summarizeProfile } from './cpu-profile.mjs'

/** @typedef {import('./apps.mjs').Scenario} Scenario */
/** @typedef {import('./preload-latency.mjs').FetchResult} FetchResult */

const here = fileURLToPath(new URL('.', import.meta.url))
const require = createRequire(import.meta.url)

/**
 * The part of autocannon's API used here (it ships no types).
 * @typedef {{ errors: number, timeouts: number, non2xx: number }} AutocannonResult
 * @typedef {PromiseLike<AutocannonResult> & {
 *   on (event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTime: number) => void): unknown
 * }} AutocannonInstance
 * @typedef {(options: { url: string, connections: number, sampleInt: number, duration?: number, amount?: number }) => AutocannonInstance} Autocannon
 */
const autocannon = /** @type {Autocannon} */ (require('autocannon'))
const KB = 1024
const MB = 1024 * KB

// ---------------------------------------------------------------------------------------------
// Options

/** The parts of the default run. */
const PARTS = /** @type {const} */ (['throughput', 'sweep', 'memory', 'latency', 'soak'])
/** `breakdown` (on request only) adds, next to (c) and (d), the parts of their cost one at a time. */
const ALL_PARTS = /** @type {const} */ ([...PARTS, 'breakdown'])
/** @typedef {(typeof ALL_PARTS)[number]} Part */

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    skip: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    rtt: { type: 'string' },
    profile: { type: 'string' },
    json: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (flags.help) {
  console.log(`usage: npm run bench -- [options]

  --quick                 a short smoke run (2 rounds of 1 s, 20,000 requests for the memory check,
                          1,000 for the push soak)
  --only=PARTS            run only these parts (comma separated): ${PARTS.join(', ')},
                          and breakdown (what (c) and (d) cost, part by part; not run by default)
  --skip=PARTS            run all parts but these
  --rounds=N              rounds of baseline/variant alternation (default 5, quick 2)
  --duration=S            seconds of load per server and round (default 1.5, quick 1)
  --connections=N         autocannon connections (default 10)
  --rtt=MS                round-trip time of the latency benchmark (default 50)
  --profile=LIST          instead of the benchmark: profile these scenarios with --cpu-prof
                          (e.g. plugin-book,plugin-collection,plugin-blob@1048576)
  --json=FILE             also write the raw results to FILE
  --no-pin                do not pin the servers and the load generator to their own cores
                          (pinned with taskset on Linux when it is there)`)
  process.exit(0)
}

/**
 * @param {string | undefined} value
 * @param {number} fallback
 * @param {string} name
 */
function numberFlag (value, fallback, name) {
  if (value === undefined) return fallback
  const number = Number(value)
  if (!(number > 0)) throw new Error(`--${name} must be a positive number, received ${value}`)
  return number
}

/** @param {string | undefined} list */
function partsOf (list) {
  if (list === undefined) return null
  const parts = list.split(',').map((part) => part.trim()).filter((part) => part !== '')
  for (const part of parts) {
    if (!(/** @type {readonly string[]} */ (ALL_PARTS)).includes(part)) throw new Error(`unknown part "${part}" (parts: ${ALL_PARTS.join(', ')})`)
  }
  return /** @type {Part[]} */ (parts)
}

const only = partsOf(flags.only)
const skip = partsOf(flags.skip) ?? []
/** @type {Set<Part>} */
const parts = new Set((only ?? [...PARTS]).filter((part) => !skip.includes(part)))
const quick = flags.quick
const settings = {
  rounds: Math.round(numberFlag(flags.rounds, quick ? 2 : 5, 'rounds')),
  duration: numberFlag(flags.duration, quick ? 1 : 1.5, 'duration'),
  warmup: 0.5,
  connections: Math.round(numberFlag(flags.connections, 10, 'connections')),
  rtt: numberFlag(flags.rtt, 50, 'rtt'),
  memoryRequests: quick ? [2_000, 20_000] : [20_000, 200_000],
  soakRequests: quick ? 1_000 : 4_000,
  latencyIterations: quick ? 3 : 7,
  sweepSizes: [1 * KB, 10 * KB, 100 * KB, 1 * MB]
}
/** The payload size at which (e) is held to its target (the issue's "~100 KB"). */
const MAIN_BLOB = 100 * KB

// ---------------------------------------------------------------------------------------------
// Server processes

/**
 * @typedef {object} Server
 * @property {Scenario} scenario
 * @property {number | undefined} size
 * @property {number} port
 * @property {import('node:child_process').ChildProcess} child
 * @property {(gc?: boolean) => Promise<{ heapUsed: number, rss: number, cpuMicros: number }>} stats
 * @property {() => Promise<void>} stop
 */

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set()

/**
 * On Linux with two cores or more, the servers run on the last core and this process (the load
 * generator) on the first, with taskset: otherwise the scheduler now and then puts both on one
 * core, and a run measures that instead of the server.
 */
const pin = (() => {
  const last = cpus().length - 1
  if (flags['no-pin'] || process.platform !== 'linux' || last < 1) return null
  const self = spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' })
  return self.status === 0 ? { server: String(last) } : null
})()

/**
 * Forks a child with an IPC channel and waits for its `ready` message.
 * @param {string} script
 * @param {string[]} args
 * @param {string[]} execArgv
 * @param {boolean} [pinned] run it on the servers' core
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, port: number }>}
 */
function forkReady (script, args, execArgv, pinned = false) {
  const options = pinned && pin !== null
    ? { execPath: 'taskset', execArgv: ['-c', pin.server, process.execPath, ...execArgv] }
    : { execArgv }
  const child = fork(join(here, script), args, { ...options, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.add(child)
  child.once('exit', () => { children.delete(child) })
  return new Promise((resolve, reject) => {
    const onExit = (/** @type {number | null} */ code) => { reject(new Error(`${script} ${args.join(' ')} exited with ${code}`)) }
    child.once('exit', onExit)
    child.once('message', (/** @type {{ type: string, port: number }} */ message) => {
      child.off('exit', onExit)
      if (message.type === 'ready') resolve({ child, port: message.port })
      else reject(new Error(`${script}: unexpected message ${JSON.stringify(message)}`))
    })
  })
}

/**
 * Asks a child to close, and waits for it to exit (or kills it after 5 s).
 * @param {import('node:child_process').ChildProcess} child
 */
async function stopChild (child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => { child.once('exit', resolve) })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 5000)
  if (child.connected) child.send({ type: 'close' })
  else child.kill('SIGTERM')
  await exited
  clearTimeout(timer)
}

/**
 * @param {Scenario} scenario
 * @param {{ size?: number, execArgv?: string[] }} [options]
 * @returns {Promise<Server>}
 */
async function startServer (scenario, options = {}) {
  const args = [scenario, '0', ...(options.size === undefined ? [] : [String(options.size)])]
  const { child, port } = await forkReady('server.mjs', args, ['--expose-gc', ...(options.execArgv ?? [])], true)
  return {
    scenario,
    size: options.size,
    port,
    child,
    stats: (gc = false) => new Promise((resolve) => {
      child.once('message', resolve)
      child.send({ type: 'stats', gc })
    }),
    stop: () => stopChild(child)
  }
}

async function stopAll () {
  await Promise.all([...children].map(stopChild))
}

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    stopAll().finally(() => process.exit(130))
  })
}

// ---------------------------------------------------------------------------------------------
// Loading

/**
 * @typedef {object} LoadResult
 * @property {number} rps 2xx responses per second
 * @property {number} p50 latency in ms (sub-millisecond resolution)
 * @property {number} p99
 * @property {number} requests
 * @property {number} serverCpu server CPU time per wall second (1 = one core)
 * @property {number} cpuPerRequest server CPU time per request, in µs
 * @property {number} loaderCpu this process's CPU time per wall second
 * @property {number} otherCpu CPU time of the rest of the machine per wall second: other
 *   processes (and the kernel's share of loopback traffic that is not charged to either process)
 */

/** Busy CPU time of the whole machine so far, in seconds (all cores). */
function machineBusy () {
  let ms = 0
  for (const { times } of cpus()) ms += times.user + times.nice + times.sys + times.irq
  return ms / 1000
}

/**
 * @param {Float64Array} sorted
 * @param {number} q
 */
function quantile (sorted, q) {
  if (sorted.length === 0) return NaN
  return /** @type {number} */ (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))])
}

/**
 * What one autocannon run measured, before it is summed with the other slices of a round.
 * @typedef {object} Sample
 * @property {number} count 2xx responses
 * @property {number} elapsed seconds
 * @property {Float64Array} latencies ms, one per response
 * @property {number} serverMicros server CPU time
 * @property {number} loaderMicros this process's CPU time
 * @property {number} busy CPU seconds of the whole machine
 */

/**
 * Loads a server with autocannon, for `duration` seconds or `amount` requests.
 * @param {Server} server
 * @param {{ duration: number } | { amount: number }} run
 * @returns {Promise<Sample>}
 */
async function sample (server, run) {
  const before = await server.stats()
  const cpuBefore = process.cpuUsage()
  const busyBefore = machineBusy()
  let latencies = new Float64Array(1 << 14)
  let count = 0
  let bad = 0
  const started = performance.now()
  const instance = autocannon({
    url: `http://127.0.0.1:${server.port}${pathOf(server.scenario)}`,
    connections: settings.connections,
    // autocannon checks for the end of a run at each sample: 1 s by default, too coarse for slices.
    sampleInt: 50,
    ...run
  })
  // Latencies are recorded here, in float ms: autocannon's own histogram rounds to whole ms.
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode !== 200) {
      bad++
      return
    }
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[count++] = responseTime
  })
  const result = await instance
  const elapsed = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const busy = machineBusy() - busyBefore
  const after = await server.stats()
  if (bad > 0 || result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(`${server.scenario}: ${bad} non-200 responses, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  return {
    count,
    elapsed,
    latencies: latencies.subarray(0, count),
    serverMicros: after.cpuMicros - before.cpuMicros,
    loaderMicros: cpu.user + cpu.system,
    busy
  }
}

/**
 * Sums samples of one server into one result.
 * @param {readonly Sample[]} samples
 * @returns {LoadResult}
 */
function summarize (samples) {
  let count = 0
  let elapsed = 0
  let serverMicros = 0
  let loaderMicros = 0
  let busy = 0
  for (const one of samples) {
    count += one.count
    elapsed += one.elapsed
    serverMicros += one.serverMicros
    loaderMicros += one.loaderMicros
    busy += one.busy
  }
  const sorted = new Float64Array(count)
  let offset = 0
  for (const one of samples) {
    sorted.set(one.latencies, offset)
    offset += one.count
  }
  sorted.sort()
  const serverCpu = serverMicros / 1e6 / elapsed
  const loaderCpu = loaderMicros / 1e6 / elapsed
  return {
    rps: count / elapsed,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    requests: count,
    serverCpu,
    cpuPerRequest: serverMicros / count,
    loaderCpu,
    otherCpu: Math.max(0, busy / elapsed - serverCpu - loaderCpu)
  }
}

/**
 * @param {Server} server
 * @param {{ duration: number } | { amount: number }} run
 * @returns {Promise<LoadResult>}
 */
async function load (server, run) {
  return summarize([await sample(server, run)])
}

/** Other processes busier than this (in cores) during a run make it disturbed. */
const DISTURBED = 0.15
/** Times a cycle of slices is made at most, the first included. */
const MAX_ATTEMPTS = 3
/** Disturbed cycles made again, and disturbed cycles kept because every attempt was disturbed. */
const disturbance = { redone: 0, kept: 0 }

/**
 * True when something else than the server and the load generator shaped this run: other
 * processes took more than `DISTURBED` of a core, or neither side had the core it could use
 * (the server is the bottleneck of an undisturbed run; a loader-bound machine is reported, not retried).
 * @param {LoadResult} outcome
 */
function disturbed (outcome) {
  return outcome.otherCpu > DISTURBED || (outcome.serverCpu < 0.85 && outcome.loaderCpu < 0.9)
}

/** Seconds of one slice: the servers of a group take turns this often. */
const SLICE = 0.5

/**
 * Loads the servers of a group in turn, `duration` seconds each, in slices of `SLICE` seconds
 * (A B C A B C ...), so that no more than a slice or two separate the figures compared. A
 * cycle of slices during which other processes got busy (see `disturbed`) is made again,
 * after a pause; after `MAX_ATTEMPTS` the least disturbed one is kept.
 * @param {readonly Server[]} servers in the order of the round
 * @param {number} duration
 * @returns {Promise<LoadResult[]>} in the order of `servers`
 */
async function alternate (servers, duration) {
  /** @type {Sample[][]} */
  const samples = servers.map(() => [])
  const cycles = Math.max(1, Math.round(duration / SLICE))
  for (let cycle = 0; cycle < cycles; cycle++) {
    /** @type {{ made: Sample[], score: number } | null} */
    let best = null
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      /** @type {Sample[]} */
      const made = []
      for (const server of servers) made.push(await sample(server, { duration: SLICE }))
      const outcomes = made.map((one) => summarize([one]))
      const score = Math.max(...outcomes.map((outcome) => outcome.otherCpu - outcome.serverCpu))
      if (!outcomes.some(disturbed)) {
        best = { made, score }
        break
      }
      if (best === null || score < best.score) best = { made, score }
      if (attempt === MAX_ATTEMPTS) {
        disturbance.kept++
      } else {
        disturbance.redone++
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt))
      }
    }
    best?.made.forEach((one, i) => { samples[i]?.push(one) })
  }
  return samples.map(summarize)
}

/**
 * One GET, to check what a scenario answers: status, body size and preload links.
 * @param {Server} server
 * @returns {Promise<{ bytes: number, links: number }>}
 */
function probe (server) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.port, path: pathOf(server.scenario) }, (response) => {
      let bytes = 0
      response.on('data', (/** @type {Buffer} */ chunk) => { bytes += chunk.length })
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`${server.scenario}: status ${response.statusCode}`))
        else resolve({ bytes, links: preloadLinks(response.headers.link).length })
      })
    }).on('error', reject)
  })
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

/** @param {readonly number[]} values */
function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? /** @type {number} */ (sorted[middle]) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2
}

/**
 * `median (min–max)`
 * @param {readonly number[]} values
 * @param {(value: number) => string} format
 */
function spread (values, format) {
  if (values.length === 0) return '-'
  if (values.length === 1) return format(/** @type {number} */ (values[0]))
  return `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`
}

const fmt = {
  rps: (/** @type {number} */ value) => value >= 1000 ? value.toFixed(0) : value.toFixed(1),
  ms: (/** @type {number} */ value) => value < 10 ? value.toFixed(2) : value.toFixed(1),
  us: (/** @type {number} */ value) => value < 1000 ? value.toFixed(1) : value.toFixed(0),
  ratio: (/** @type {number} */ value) => value.toFixed(3),
  pct: (/** @type {number} */ value) => `${(value * 100).toFixed(0)}%`,
  bytes: (/** @type {number} */ value) => value >= MB ? `${(value / MB).toFixed(2)} MB` : value >= KB ? `${(value / KB).toFixed(1)} KB` : `${value} B`,
  mb: (/** @type {number} */ value) => `${(value / MB).toFixed(2)} MB`
}

/**
 * A plain text table: columns padded to their widest cell; numbers to the right.
 * @param {string[]} header
 * @param {string[][]} rows
 */
function table (header, rows) {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)))
  /** @param {string[]} row */
  const line = (row) => row.map((cell, i) => i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n')
}

// ---------------------------------------------------------------------------------------------
// The parts

/**
 * @typedef {object} Variant
 * @property {string} label row label, e.g. "(c) 10 x-push relations"
 * @property {string} key short key, e.g. "c"
 * @property {Scenario} scenario
 * @property {number} links preload links each response must carry
 * @property {number | null} target required req/s ratio to the baseline, or null
 */

/**
 * @typedef {object} Group
 * @property {string} name
 * @property {Scenario} baseline
 * @property {number | undefined} size
 * @property {Variant[]} variants
 */

/**
 * @typedef {object} GroupResult
 * @property {Group} group
 * @property {number} bytes body size
 * @property {LoadResult[]} baseline one per round
 * @property {Map<string, LoadResult[]>} variants by key, one per round
 * @property {Map<string, number[]>} ratios req/s ratio to the baseline of the same round, by key
 * @property {Map<string, number[]>} shared req/s ratio to the baseline when the group's servers
 *   are loaded at the same time on one core (pinned runs only), by key: they share the core
 *   equally, so this is the ratio of their CPU cost per request, and drift hits them all alike
 */

/** @returns {Group[]} */
function throughputGroups () {
  /** @type {Group[]} */
  const groups = []
  const breakdown = parts.has('breakdown')
  if (parts.has('throughput') || breakdown) {
    /** @param {'book' | 'collection'} payload @param {number} links @returns {Variant[]} */
    const breakdownVariants = (payload, links) => breakdown
      ? [
          { label: `    no-op preSerialization + onSend hooks, ${payload}`, key: `hooks-${payload}`, scenario: `hooks-${payload}`, links: 0, target: null },
          { label: `    constant Link header (${links} links), ${payload}`, key: `link-${payload}`, scenario: `link-${payload}`, links, target: null }
        ]
      : []
    groups.push({
      name: 'book',
      baseline: 'baseline-book',
      size: undefined,
      variants: [
        // Same app as the baseline, in another process: how far apart two identical servers measure.
        { label: '(a) again, other process: A/A control', key: 'control', scenario: 'control-book', links: 0, target: null },
        { label: '(b) plugin, route without x-push', key: 'b', scenario: 'plugin-plain', links: 0, target: 0.99 },
        ...breakdownVariants('book', BOOK_RELATIONS),
        { label: `(c) book, ${BOOK_RELATIONS} x-push relations`, key: 'c', scenario: 'plugin-book', links: BOOK_RELATIONS, target: 0.95 }
      ]
    }, {
      name: 'collection',
      baseline: 'baseline-collection',
      size: undefined,
      variants: [
        ...breakdownVariants('collection', COLLECTION_RELATIONS),
        { label: '(d) 100 items x 2 relations', key: 'd', scenario: 'plugin-collection', links: COLLECTION_RELATIONS, target: 0.90 }
      ]
    })
  }
  const sizes = parts.has('sweep') ? settings.sweepSizes : parts.has('throughput') ? [MAIN_BLOB] : []
  for (const size of sizes) {
    groups.push({
      name: `blob ${fmt.bytes(size)}`,
      baseline: 'baseline-blob',
      size,
      variants: [
        { label: `(e) ${fmt.bytes(size)} payload, 1 relation`, key: `e@${size}`, scenario: 'plugin-blob', links: BLOB_RELATIONS, target: size === MAIN_BLOB ? 0.97 : null },
        { label: `(f) ${fmt.bytes(size)}, naive JSON.parse`, key: `f@${size}`, scenario: 'naive-blob', links: BLOB_RELATIONS, target: null }
      ]
    })
  }
  return groups
}

/**
 * Starts the servers of a group (fresh processes), checks what each one answers, and warms
 * them up.
 * @param {Group} group
 * @returns {Promise<{ servers: Map<Scenario, Server>, bytes: number }>}
 */
async function startGroup (group) {
  const scenarios = [group.baseline, ...group.variants.map((variant) => variant.scenario)]
  const started = await Promise.all(scenarios.map((scenario) => startServer(scenario, group.size === undefined ? {} : { size: group.size })))
  /** @type {Map<Scenario, Server>} */
  const servers = new Map(started.map((server) => [server.scenario, server]))
  try {
    const base = await probe(/** @type {Server} */ (servers.get(group.baseline)))
    if (base.links !== 0) throw new Error(`${group.baseline}: expected no preload link, got ${base.links}`)
    for (const variant of group.variants) {
      const answer = await probe(/** @type {Server} */ (servers.get(variant.scenario)))
      if (answer.links !== variant.links) throw new Error(`${variant.scenario}: expected ${variant.links} preload links, got ${answer.links}`)
      if (answer.bytes !== base.bytes) throw new Error(`${variant.scenario}: body of ${answer.bytes} bytes, baseline ${base.bytes}`)
    }
    for (const server of started) await load(server, { duration: settings.warmup })
    return { servers, bytes: base.bytes }
  } catch (error) {
    await Promise.all(started.map((server) => server.stop()))
    throw error
  }
}

/**
 * The rounds: in each round, for each group, fresh server processes (so that no one process's
 * luck with the JIT decides a figure), warmed up, loaded in turn (`alternate`; the order rotates
 * from round to round, so no scenario always runs first), then all at once on one core.
 * @param {Group[]} groups
 * @returns {Promise<GroupResult[]>}
 */
async function runThroughput (groups) {
  /** @type {GroupResult[]} */
  const results = groups.map((group) => ({ group, bytes: 0, baseline: [], variants: new Map(), ratios: new Map(), shared: new Map() }))
  const total = groups.reduce((sum, group) => sum + 1 + group.variants.length, 0)
  for (let round = 0; round < settings.rounds; round++) {
    process.stderr.write(`round ${round + 1}/${settings.rounds}: ${total} servers, ${settings.warmup} s of warm-up and ${settings.duration} s each ` +
      `in ${SLICE} s turns${pin === null ? '' : ', then each group at once'}\n`)
    for (const result of results) {
      const { group } = result
      const { servers, bytes } = await startGroup(group)
      try {
        result.bytes = bytes
        const serverOf = (/** @type {Variant | null} */ variant) => /** @type {Server} */ (servers.get(variant === null ? group.baseline : variant.scenario))
        const runs = [null, ...group.variants]
        const shift = round % runs.length
        const ordered = [...runs.slice(shift), ...runs.slice(0, shift)]
        const outcomes = await alternate(ordered.map(serverOf), settings.duration)
        const base = /** @type {LoadResult} */ (outcomes[ordered.indexOf(null)])
        result.baseline.push(base)
        for (const variant of group.variants) {
          const outcome = /** @type {LoadResult} */ (outcomes[ordered.indexOf(variant)])
          result.variants.set(variant.key, [...(result.variants.get(variant.key) ?? []), outcome])
          result.ratios.set(variant.key, [...(result.ratios.get(variant.key) ?? []), outcome.rps / base.rps])
        }
        if (pin !== null) {
          // The same comparison once more, all at once on the servers' core (see GroupResult.shared).
          const [alone, ...others] = await Promise.all(runs.map((variant) => load(serverOf(variant), { duration: settings.duration })))
          group.variants.forEach((variant, i) => {
            const ratio = /** @type {LoadResult} */ (others[i]).rps / /** @type {LoadResult} */ (alone).rps
            result.shared.set(variant.key, [...(result.shared.get(variant.key) ?? []), ratio])
          })
        }
      } finally {
        await Promise.all([...servers.values()].map((server) => server.stop()))
      }
    }
  }
  return results
}

/**
 * The absolute figures: what each scenario did, per round.
 * @param {GroupResult[]} results
 * @returns {string}
 */
function absoluteTable (results) {
  /** @type {string[][]} */
  const rows = []
  for (const result of results) {
    /** @param {string} label @param {LoadResult[]} runs */
    const row = (label, runs) => [
      label,
      fmt.bytes(result.bytes),
      spread(runs.map((run) => run.rps), fmt.rps),
      spread(runs.map((run) => run.p50), fmt.ms),
      spread(runs.map((run) => run.p99), fmt.ms),
      spread(runs.map((run) => run.cpuPerRequest), fmt.us),
      /** @type {Array<(run: LoadResult) => number>} */ ([(run) => run.serverCpu, (run) => run.loaderCpu, (run) => run.otherCpu])
        .map((of) => fmt.pct(median(runs.map(of)))).join(' / ')
    ]
    rows.push(row(`(a) baseline, ${result.group.name}`, result.baseline))
    for (const variant of result.group.variants) rows.push(row(variant.label, result.variants.get(variant.key) ?? []))
  }
  return table(['scenario', 'body', 'req/s', 'p50 ms', 'p99 ms', 'server µs/req', 'cpu server/loader/other'], rows)
}

/**
 * The ratios to the baseline of the same round, and the targets.
 * @param {GroupResult[]} results
 * @returns {string}
 */
function ratioTable (results) {
  /** @type {string[][]} */
  const rows = []
  for (const result of results) {
    for (const variant of result.group.variants) {
      const ratios = result.ratios.get(variant.key) ?? []
      const { target } = variant
      rows.push([
        variant.label,
        spread(ratios, fmt.ratio),
        pin === null ? 'n/a' : spread(result.shared.get(variant.key) ?? [], fmt.ratio),
        target === null ? '' : `>= ${target.toFixed(2)}`,
        target === null ? '' : median(ratios) >= target ? 'holds' : `MISSED by ${((target - median(ratios)) * 100).toFixed(1)} pts`
      ])
    }
  }
  return table(['variant', 'req/s ratio, alternating', 'req/s ratio, one core at once', 'target', 'verdict (alternating)'], rows)
}

/**
 * (e) must not fall as the payload grows from 1 KB to 1 MB; (f) does. Judged on the medians of
 * the ratios of one kind (`alternating` or `one core`); a change within `SWEEP_TOLERANCE` is noise.
 * @param {GroupResult[]} results
 * @param {'ratios' | 'shared'} kind
 * @returns {string | null}
 */
function sweepVerdict (results, kind) {
  const blobs = results.filter((result) => result.group.size !== undefined)
  if (blobs.length < 2 || blobs.some((result) => result[kind].size === 0)) return null
  const series = (/** @type {string} */ variant) => blobs.map((result) => ({
    size: result.group.size ?? 0,
    ratio: median(result[kind].get(`${variant}@${result.group.size}`) ?? [])
  }))
  /** @typedef {{ size: number, ratio: number }} Point */
  const [eFirst, ...eRest] = /** @type {[Point, ...Point[]]} */ (series('e'))
  const [fFirst, ...fRest] = /** @type {[Point, ...Point[]]} */ (series('f'))
  const lowest = (/** @type {Point[]} */ points) => points.reduce((low, point) => point.ratio < low.ratio ? point : low)
  const eLow = lowest(eRest)
  const fLow = lowest(fRest)
  const line = (/** @type {Point[]} */ points) => points.map((point) => `${fmt.ratio(point.ratio)} (${fmt.bytes(point.size)})`).join(' -> ')
  const drop = (/** @type {Point} */ from, /** @type {Point} */ to) => `${((from.ratio - to.ratio) * 100).toFixed(1)} pts at ${fmt.bytes(to.size)}`
  const label = kind === 'ratios' ? 'alternating' : 'one core at once'
  return [
    `(e) as the payload grows, ${label}: ${line([eFirst, ...eRest])}: ` +
      (eLow.ratio >= eFirst.ratio - SWEEP_TOLERANCE ? 'does not fall (holds)' : `FALLS by ${drop(eFirst, eLow)} (missed)`),
    `(f) as the payload grows, ${label}: ${line([fFirst, ...fRest])}: ` +
      (fLow.ratio < fFirst.ratio - SWEEP_TOLERANCE ? `falls, by ${drop(fFirst, fLow)}` : 'does not fall')
  ].join('\n')
}

/**
 * Heap of a (c) server after GC, after a first batch of requests and after ten times as many.
 */
async function runMemory () {
  const [first, total] = /** @type {[number, number]} */ (settings.memoryRequests)
  const server = await startServer('plugin-book')
  try {
    const start = await server.stats(true)
    process.stderr.write(`memory: ${first} requests of (c)...\n`)
    await load(server, { amount: first })
    const early = await server.stats(true)
    process.stderr.write(`memory: ${total - first} more...\n`)
    await load(server, { amount: total - first })
    const late = await server.stats(true)
    return { first, total, start: start.heapUsed, early: early.heapUsed, late: late.heapUsed, rssEarly: early.rss, rssLate: late.rss }
  } finally {
    await server.stop()
  }
}

/** @typedef {Awaited<ReturnType<typeof runMemory>>} MemoryResult */

/**
 * @typedef {{ heapUsed: number, resources: Record<string, number>, openSessions: number, openStreams: number }} SoakSnapshot
 * @typedef {{ total: number, step: number, measured: { pushes: number, requests: number }, seconds: number, after: SoakSnapshot, series: number[] }} SoakResult
 */

/**
 * The native push soak (bench/push-soak.mjs, docs/http2-push.md): requests with two-hop pushes,
 * resets, torn-down sessions and pushes past pushTimeout, in a process of its own with
 * --expose-gc. Fastify's default http2SessionTimeout: what the plugin keeps per session must
 * not live as long as Node holds a closed session.
 * @returns {Promise<SoakResult>}
 */
async function runSoak () {
  process.stderr.write(`soak: ${settings.soakRequests} requests with native pushes...\n`)
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', join(here, 'push-soak.mjs'), String(settings.soakRequests), String(settings.soakRequests / 4)], {
    env: { ...process.env, SLOW_MS: '80', PUSH_TIMEOUT_MS: '50', SESSION_TIMEOUT_MS: '72000' },
    maxBuffer: 16 * MB
  })
  return JSON.parse(stdout)
}

/** From the second quarter of the run on (the first warms the JIT up), the heap may move by this much: measured noise is ±0.25 MB. */
const SOAK_TOLERANCE = 0.75 * MB

/** @param {SoakResult} soak */
function soakText (soak) {
  // PipeWrap: the soak's own stdout and stderr, piped to this process.
  const { PipeWrap: _stdio, TCPServerWrap: listening, ...others } = soak.after.resources
  const left = Object.entries(others).map(([type, count]) => `${count} ${type}`)
  const clean = soak.after.openSessions === 0 && soak.after.openStreams === 0 && left.length === 0 && listening === 1
  const from = soak.series[1] ?? soak.series[0] ?? 0
  const growth = (soak.series.at(-1) ?? 0) - from
  return [
    `${soak.measured.requests.toLocaleString('en')} requests, ${soak.measured.pushes.toLocaleString('en')} pushes in ${soak.seconds.toFixed(0)} s; ` +
      `heap after each ${soak.step.toLocaleString('en')} requests: ${soak.series.map((heap) => fmt.mb(heap)).join(', ')}`,
    `push soak: sessions ${soak.after.openSessions}, streams ${soak.after.openStreams}, other handles ${left.length === 0 ? 'none' : left.join(', ')} left ` +
      `${clean ? 'holds' : 'MISSED'}; heap growth over the last three quarters ${fmt.mb(growth)}, target < ${fmt.mb(SOAK_TOLERANCE)} ${growth < SOAK_TOLERANCE ? 'holds' : 'MISSED'}`
  ].join('\n')
}

/** A change of a sweep ratio smaller than this is noise, not a fall. */
const SWEEP_TOLERANCE = 0.02

/** "A few MB": the heap may move by this much between the two counts. */
const MEMORY_TOLERANCE = 3 * MB

/** @param {MemoryResult} memory */
function memoryText (memory) {
  const delta = memory.late - memory.early
  return [
    `heap after GC, (c) server: at start ${fmt.mb(memory.start)}, after ${memory.first.toLocaleString('en')} requests ${fmt.mb(memory.early)}, ` +
      `after ${memory.total.toLocaleString('en')} ${fmt.mb(memory.late)}`,
    `difference ${delta >= 0 ? '+' : ''}${(delta / MB).toFixed(2)} MB (target: within ${MEMORY_TOLERANCE / MB} MB): ` +
      `${Math.abs(delta) <= MEMORY_TOLERANCE ? 'holds' : 'MISSED'}; rss ${fmt.mb(memory.rssEarly)} -> ${fmt.mb(memory.rssLate)}`
  ].join('\n')
}

/**
 * @typedef {object} LatencyMode
 * @property {string} label
 * @property {'h1' | 'h2' | 'h2push'} key
 * @property {(port: number) => Promise<FetchResult>} fetch
 */

/** @type {LatencyMode[]} */
const LATENCY_MODES = [
  { label: 'HTTP/1.1, one by one', key: 'h1', fetch: (port) => fetchHttp1(port, '/books/1') },
  { label: 'HTTP/2, requests on Link header', key: 'h2', fetch: (port) => fetchHttp2(port, '/books/1', false) },
  { label: 'HTTP/2, native push', key: 'h2push', fetch: (port) => fetchHttp2(port, '/books/1', true) }
]

/**
 * A book and its 10 relations over a link with a round-trip time, three ways.
 */
async function runLatency () {
  const h1 = await startServer('latency-h1')
  const h2 = await startServer('latency-h2')
  const rtt = settings.rtt
  const proxies = await Promise.all([h1, h2].map((server) => forkReady('delay-proxy.mjs', [String(server.port), String(rtt)], [])))
  const [proxy1, proxy2] = /** @type {[{ port: number, child: import('node:child_process').ChildProcess }, { port: number, child: import('node:child_process').ChildProcess }]} */ (proxies)
  try {
    /** @type {Map<string, { direct: number[], delayed: FetchResult[] }>} */
    const results = new Map(LATENCY_MODES.map((mode) => [mode.key, { direct: [], delayed: [] }]))
    // Warm-up straight to the servers (JIT, route compilation), also the no-delay reference.
    for (let i = 0; i < 60; i++) {
      for (const mode of LATENCY_MODES) {
        const outcome = await mode.fetch(mode.key === 'h1' ? h1.port : h2.port)
        if (i >= 40) results.get(mode.key)?.direct.push(outcome.ttlb)
      }
    }
    process.stderr.write(`latency: ${settings.latencyIterations} fetches per mode through a ${rtt} ms RTT link...\n`)
    for (let i = 0; i < settings.latencyIterations; i++) {
      const shift = i % LATENCY_MODES.length
      for (const mode of [...LATENCY_MODES.slice(shift), ...LATENCY_MODES.slice(0, shift)]) {
        const outcome = await mode.fetch(mode.key === 'h1' ? proxy1.port : proxy2.port)
        if (outcome.resources !== BOOK_RELATIONS + 1) throw new Error(`${mode.label}: ${outcome.resources} resources`)
        results.get(mode.key)?.delayed.push(outcome)
      }
    }
    return { rtt, results }
  } finally {
    await Promise.all([stopChild(proxy1.child), stopChild(proxy2.child), h1.stop(), h2.stop()])
  }
}

/** @typedef {Awaited<ReturnType<typeof runLatency>>} LatencyResult */

/** @param {LatencyResult} latency */
function latencyTable (latency) {
  const rows = LATENCY_MODES.map((mode) => {
    const { direct, delayed } = /** @type {{ direct: number[], delayed: FetchResult[] }} */ (latency.results.get(mode.key))
    const ttlb = delayed.map((outcome) => outcome.ttlb)
    const last = /** @type {FetchResult} */ (delayed[delayed.length - 1])
    return [
      mode.label,
      spread(ttlb, fmt.ms),
      (median(ttlb) / latency.rtt).toFixed(1),
      String(last.requests),
      String(last.pushed),
      String(last.connections),
      fmt.ms(median(direct))
    ]
  })
  return table([`book + ${BOOK_RELATIONS} relations`, `last byte, ms (RTT ${latency.rtt} ms)`, 'round trips', 'requests', 'pushed', 'connections', 'no-delay ms'], rows)
}

// ---------------------------------------------------------------------------------------------
// Profiling

/** @param {string} spec `scenario` or `scenario@bytes` */
async function profile (spec) {
  const [name = '', sizeText] = spec.split('@')
  if (!isScenario(name) || name.startsWith('latency-')) throw new Error(`--profile: unknown scenario "${name}"`)
  const size = sizeText === undefined ? undefined : Number(sizeText)
  const dir = await mkdtemp(join(tmpdir(), 'push-relations-profile-'))
  const server = await startServer(name, { ...(size === undefined ? {} : { size }), execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`] })
  try {
    await load(server, { duration: settings.warmup })
    const outcome = await load(server, { duration: Math.max(5, settings.duration * 2) })
    await server.stop()
    const file = (await readdir(dir)).find((entry) => entry.endsWith('.cpuprofile'))
    if (file === undefined) throw new Error(`${name}: no profile written`)
    const data = JSON.parse(await readFile(join(dir, file), 'utf8'))
    const dist = fileURLToPath(new URL('../dist/', import.meta.url))
    console.log(`\n=== profile of ${spec}: ${fmt.rps(outcome.rps)} req/s under --cpu-prof (profiling slows it down) ===`)
    console.log(formatSummary(summarizeProfile(data, dist, 15), 'fastify-push-relations (dist/)'))
  } finally {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// Main

function machine () {
  const cpu = cpus()
  /** @param {string} name */
  const version = (name) => {
    try {
      return /** @type {{ version: string }} */ (require(`${name}/package.json`)).version
    } catch {
      return '?'
    }
  }
  return {
    date: new Date().toISOString(),
    cpu: cpu[0]?.model ?? '?',
    cores: cpu.length,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GB (${(freemem() / 1024 ** 3).toFixed(1)} GB free)`,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    packages: `fastify-push-relations ${version('fastify-push-relations')}, fastify ${version('fastify')}, autocannon ${version('autocannon')}`,
    load: loadavg().map((value) => value.toFixed(2)).join(' ')
  }
}

async function main () {
  if (flags.profile !== undefined) {
    for (const spec of flags.profile.split(',')) await profile(spec.trim())
    return
  }
  const began = performance.now()
  const info = machine()
  console.log(`fastify-push-relations benchmarks, ${info.date}${quick ? ' (--quick)' : ''}
  machine: ${info.cpu}, ${info.cores} cores, ${info.memory}, ${info.platform}, Node ${info.node}
  packages: ${info.packages}
  load average at start: ${info.load}
  settings: ${settings.rounds} rounds, ${settings.duration} s per run, ${settings.connections} connections, HTTP/1.1 on loopback; parts: ${[...parts].join(', ')}
  ${pin === null ? 'processes not pinned to cores' : `servers pinned to core ${pin.server}, load generator to core 0 (taskset)`}`)

  /** @type {Record<string, unknown>} */
  const raw = { machine: info, settings, pinned: pin !== null, disturbance }
  const groups = throughputGroups()
  /** @type {string[]} */
  const verdicts = []
  if (groups.length > 0) {
    const results = await runThroughput(groups)
    console.log('\nThroughput and latency overhead: each server alone, in turn (median (min–max) over the rounds)\n')
    console.log(absoluteTable(results))
    console.log('\nRatios to the baseline of the same round (median (min–max)). Alternating: the runs above, ' +
      'as the targets are defined. One core at once: a cross-check, the group\'s servers loaded together on one core, ' +
      'sharing it equally: drift hits them alike, so it is steadier.\n')
    console.log(ratioTable(results))
    console.log(`\ncycles of slices made again because other processes took over ${DISTURBED} of a core (or the server was starved): ` +
      `${disturbance.redone}; disturbed cycles kept after ${MAX_ATTEMPTS} attempts: ${disturbance.kept}`)
    const control = results.find((result) => result.ratios.has('control'))
    if (control !== undefined) {
      const shared = control.shared.get('control')
      verdicts.push(`noise floor, (a) against itself in another process: alternating ${fmt.ratio(median(control.ratios.get('control') ?? []))}` +
        (shared === undefined ? '' : `; one core at once ${fmt.ratio(median(shared))}`))
    }
    for (const result of results) {
      for (const variant of result.group.variants) {
        if (variant.target === null) continue
        const target = variant.target
        const judge = (/** @type {number} */ ratio) => `${fmt.ratio(ratio)} ${ratio >= target ? 'holds' : `MISSED by ${((target - ratio) * 100).toFixed(1)} pts`}`
        const shared = result.shared.get(variant.key)
        verdicts.push(`${variant.label}, target >= ${target.toFixed(2)}: alternating ${judge(median(result.ratios.get(variant.key) ?? []))}` +
          (shared === undefined ? '' : `; one core at once ${judge(median(shared))}`))
      }
    }
    const sweep = [sweepVerdict(results, 'ratios'), sweepVerdict(results, 'shared')].filter((text) => text !== null)
    if (sweep.length > 0) {
      console.log('\nPayload sweep: req/s ratios of (e) and (f) to the baseline of the same round, alternating and on one core at once\n')
      const sharedOf = (/** @type {GroupResult} */ result, /** @type {string} */ key) => pin === null ? 'n/a' : spread(result.shared.get(key) ?? [], fmt.ratio)
      console.log(table(['body', '(e) plugin', '(e) one core', '(f) naive JSON.parse', '(f) one core'], results.filter((result) => result.group.size !== undefined).map((result) => [
        fmt.bytes(result.bytes),
        spread(result.ratios.get(`e@${result.group.size}`) ?? [], fmt.ratio),
        sharedOf(result, `e@${result.group.size}`),
        spread(result.ratios.get(`f@${result.group.size}`) ?? [], fmt.ratio),
        sharedOf(result, `f@${result.group.size}`)
      ])))
      console.log(sweep.join('\n'))
      verdicts.push(...sweep)
    }
    raw.throughput = results.map((result) => ({
      group: result.group,
      bytes: result.bytes,
      baseline: result.baseline,
      variants: Object.fromEntries(result.variants),
      ratios: Object.fromEntries(result.ratios),
      shared: Object.fromEntries(result.shared)
    }))
  }
  if (parts.has('memory')) {
    const memory = await runMemory()
    console.log('\nMemory\n')
    console.log(memoryText(memory))
    verdicts.push(memoryText(memory).split('\n')[1] ?? '')
    raw.memory = memory
  }
  if (parts.has('latency')) {
    const latency = await runLatency()
    console.log(`\nDoes preloading pay? A book and its ${BOOK_RELATIONS} related resources over a ${latency.rtt} ms RTT link ` +
      `(delaying TCP proxy in Node; medians (min–max) of ${settings.latencyIterations} fetches, each on new connections)\n`)
    console.log(latencyTable(latency))
    raw.latency = { rtt: latency.rtt, results: Object.fromEntries(latency.results) }
  }
  if (parts.has('soak')) {
    const soak = await runSoak()
    console.log('\nWhat a long run with native pushes leaves behind (bench/push-soak.mjs)\n')
    console.log(soakText(soak))
    verdicts.push(soakText(soak).split('\n')[1] ?? '')
    raw.soak = soak
  }
  if (verdicts.length > 0) console.log('\nTargets\n\n' + verdicts.join('\n'))
  console.log(`\nload average at end: ${loadavg().map((value) => value.toFixed(2)).join(' ')}; took ${((performance.now() - began) / 1000).toFixed(0)} s`)
  if (flags.json !== undefined) {
    const { writeFile } = await import('node:fs/promises')
    await writeFile(flags.json, JSON.stringify(raw, null, 2) + '\n')
  }
}

try {
  await main()
} catch (error) {
  console.error(error)
  process.exitCode = 1
} finally {
  await stopAll()
}
