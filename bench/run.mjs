// @ts-check
// `npm run bench`: what the plugin costs, and when preloading pays. docs/benchmarks.md has the
// method and the last results. How to run it:
//
//   npm run bench                          build, then every part below (about 10 minutes)
//   node bench/run.mjs overhead            one part (after `npm run build`); several: `overhead vulcain`
//   node bench/run.mjs --quick             a smoke run: 2 rounds of 1 s, fewer requests and fetches
//   node bench/run.mjs profile --profile=plugin-book,hook-book   CPU profiles (not in the default run)
//   node bench/run.mjs instructions        instructions per request under valgrind (not in the default run)
//   VULCAIN_GATEWAY=/work/shared/tools/vulcain-gateway/vulcain-gw node bench/run.mjs vulcain
//
// Parts (bench/parts/):
//   overhead  the plugin against bare Fastify and two floors (constant Link header, hand-written
//             hook): book with 10 relations, 100-item collection, unannotated route
//   sweep     payload from 1 KB to 1 MB, one relation, against a naive JSON.parse
//   memory    heap after GC after 20,000 and 200,000 requests
//   latency   does preloading pay? round trips and ms through a delaying proxy: fast and slow
//             handlers, body discovery, Link, 103 Early Hints, native push, h2o pushing
//   vulcain   Vulcain S1-S3 on the bookshop, beside the Go gateway (when VULCAIN_GATEWAY is set)
//   soak      4,000 requests with native pushes (1,000 with --quick): nothing left open, heap flat
//
// Options: --rounds=N (default 7) --duration=S (measured seconds per round, default 2) --warmup=S (default 3)
//   --connections=N (per server, default 10) --rtt=MS (latency part, default 50)
//   --no-pin (do not pin with taskset) --json=FILE (raw results) --quick --help
//
// The throughput parts (overhead, sweep, vulcain) share bench/runner.mjs: every round starts
// fresh server processes, pins them all to the same core and loads them at the same time
// from this process, pinned to the other core; ratios of req/s are then ratios of CPU cost.
import { writeFile } from 'node:fs/promises'
import { cpus, freemem, loadavg, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'
import { pin, settings, stopAll } from './runner.mjs'
import { runOverhead } from './parts/overhead.mjs'
import { runSweep } from './parts/sweep.mjs'
import { runMemory } from './parts/memory.mjs'
import { runLatency } from './parts/latency.mjs'
import { runVulcain } from './parts/vulcain.mjs'
import { runSoak } from './parts/soak.mjs'
import { runProfile } from './parts/profile.mjs'
import { runInstructions } from './parts/instructions.mjs'

const require = createRequire(import.meta.url)

/** @typedef {{ text: string, targets: string[], raw: unknown }} PartResult */

/** The parts of the default run, in order. */
const PARTS = /** @type {const} */ (['overhead', 'sweep', 'memory', 'latency', 'vulcain', 'soak'])
/** Old names still accepted. */
const ALIASES = /** @type {Record<string, string>} */ ({ throughput: 'overhead' })

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    rtt: { type: 'string' },
    profile: { type: 'string' },
    json: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (flags.help) {
  console.log(`usage: node bench/run.mjs [part...] [options]     (npm run bench -- [part...] [options])

  parts: ${PARTS.join(', ')} (all by default); profile, instructions (on request)
  --quick           a smoke run: 2 rounds of 1 s, 2,000 + 20,000 requests, 3 fetches per latency case
  --rounds=N        rounds of fresh processes (default 7)
  --duration=S      measured seconds per round, all servers of a group at once (default 2)
  --warmup=S        seconds of load before each measured round, same processes (default 3)
  --connections=N   autocannon connections per server (default 10)
  --rtt=MS          round-trip time of the latency part (default 50)
  --profile=LIST    the profile part's scenarios (default plugin-book,hook-book; scenario@bytes for blobs)
  --json=FILE       also write the raw results to FILE
  --no-pin          do not pin the servers and the load generator to cores
  env VULCAIN_GATEWAY=/path/to/vulcain-gw   run the Go gateway beside the plugin (vulcain part)`)
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

const requested = positionals.map((part) => ALIASES[part] ?? part)
for (const part of requested) {
  if (!(/** @type {readonly string[]} */ (PARTS)).includes(part) && part !== 'profile' && part !== 'instructions') {
    throw new Error(`unknown part "${part}" (parts: ${PARTS.join(', ')}, profile, instructions)`)
  }
}
const parts = requested.length === 0 ? [...PARTS] : requested

settings.quick = flags.quick
settings.rounds = Math.round(numberFlag(flags.rounds, flags.quick ? 2 : 7, 'rounds'))
settings.duration = numberFlag(flags.duration, flags.quick ? 1 : 2, 'duration')
settings.warmup = numberFlag(flags.warmup, flags.quick ? 0.5 : 3, 'warmup')
settings.connections = Math.round(numberFlag(flags.connections, 10, 'connections'))
settings.rtt = numberFlag(flags.rtt, 50, 'rtt')
settings.latencyIterations = flags.quick ? 3 : 7
settings.memoryRequests = flags.quick ? [2_000, 20_000] : [20_000, 200_000]
settings.pinning = !flags['no-pin']

/** @type {Record<string, () => Promise<PartResult>>} */
const runners = {
  overhead: runOverhead,
  sweep: runSweep,
  memory: runMemory,
  latency: runLatency,
  vulcain: runVulcain,
  soak: runSoak,
  profile: () => runProfile(flags.profile ?? 'plugin-book,hook-book'),
  instructions: runInstructions
}

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
  const began = performance.now()
  const info = machine()
  const core = pin()
  console.log(`fastify-push-relations benchmarks, ${info.date}${flags.quick ? ' (--quick)' : ''}
  machine: ${info.cpu}, ${info.cores} cores, ${info.memory}, ${info.platform}, Node ${info.node}
  packages: ${info.packages}
  load average at start: ${info.load}
  settings: ${settings.rounds} rounds of fresh processes, ${settings.duration} s measured per round, ${settings.connections} connections per server, HTTP/1.1 on loopback; parts: ${parts.join(', ')}
  ${core === null ? 'processes NOT pinned to cores: the one-core ratios need taskset' : `servers pinned to core ${core.server}, load generator to core 0 (taskset)`}`)
  /** @type {Record<string, unknown>} */
  const raw = { machine: info, settings }
  /** @type {string[]} */
  const targets = []
  for (const part of parts) {
    const started = performance.now()
    const result = await /** @type {() => Promise<PartResult>} */ (runners[part])()
    console.log(result.text)
    console.log(`(${part}: ${((performance.now() - started) / 1000).toFixed(0)} s)`)
    targets.push(...result.targets)
    raw[part] = result.raw
  }
  if (targets.length > 0) console.log('\n## Targets (medians)\n\n' + targets.join('\n'))
  console.log(`\nload average at end: ${loadavg().map((value) => value.toFixed(2)).join(' ')}; took ${((performance.now() - began) / 1000).toFixed(0)} s`)
  if (flags.json !== undefined) await writeFile(flags.json, JSON.stringify(raw, null, 2) + '\n')
}

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    stopAll().finally(() => process.exit(130))
  })
}

try {
  await main()
} catch (error) {
  console.error(error)
  process.exitCode = 1
} finally {
  await stopAll()
}
