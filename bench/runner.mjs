// @ts-check
// The shared runner of the benchmark parts (bench/parts/*.mjs): settings, server processes,
// pinning, loading several servers at once with autocannon, rounds of fresh processes, and the
// statistics and tables the parts print.
//
// The method (docs/benchmarks.md, "Method"): every server of a group runs in a process of its
// own, all of them pinned to the SAME core, and they are loaded AT THE SAME TIME from this
// process, pinned to the other core. The scheduler shares the servers' core between them, so
// the ratio of two servers' req/s is the inverse ratio of their CPU cost per request, and a
// slowdown of the machine (neighbours on the VM, other processes) hits them all alike. Every
// round starts FRESH processes (one process can run 8 to 15 % faster or slower than another
// running the same code), and every group has an A/A control: the baseline app again, in
// another process, whose ratio to the baseline is the noise floor.
import { fork, spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import net from 'node:net'
import http from 'node:http'

const here = fileURLToPath(new URL('.', import.meta.url))
const require = createRequire(import.meta.url)

/**
 * The part of autocannon's API used here (it ships no types).
 * @typedef {{ errors: number, timeouts: number, non2xx: number }} AutocannonResult
 * @typedef {PromiseLike<AutocannonResult> & {
 *   on (event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTime: number) => void): unknown
 * }} AutocannonInstance
 * @typedef {(options: { url: string, connections: number, sampleInt: number, duration?: number, amount?: number,
 *   headers?: Record<string, string> }) => AutocannonInstance} Autocannon
 */
const autocannon = /** @type {Autocannon} */ (require('autocannon'))

export const KB = 1024
export const MB = 1024 * KB

// ---------------------------------------------------------------------------------------------
// Settings (set by bench/run.mjs from its flags)

export const settings = {
  /** rounds of fresh processes */
  rounds: 7,
  /** seconds of measured load per round (all servers of a group at once) */
  duration: 2,
  /**
   * seconds of load before it, same processes (JIT, route compilation): the servers share one
   * core, so each gets a fraction of it; 0.5 s left the plugin's code paths cold and its
   * ratios several points low
   */
  warmup: 3,
  /** autocannon connections per server */
  connections: 10,
  /** round-trip time of the latency part, ms */
  rtt: 50,
  /** fetches per case in the latency part */
  latencyIterations: 7,
  /** requests of the memory part: heap after the first count, then after the total */
  memoryRequests: [20_000, 200_000],
  quick: false,
  /** pin processes with taskset (Linux, 2 cores or more) */
  pinning: true
}

// ---------------------------------------------------------------------------------------------
// Pinning

/**
 * With taskset on Linux and two cores or more, the servers run on the last core and this
 * process (the load generator) on core 0. Decided on first use, after the flags are read.
 * @type {{ server: string } | null | undefined}
 */
let pinned

/** @returns {{ server: string } | null} */
export function pin () {
  if (pinned !== undefined) return pinned
  const last = cpus().length - 1
  if (!settings.pinning || process.platform !== 'linux' || last < 1) {
    pinned = null
    return pinned
  }
  const self = spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' })
  pinned = self.status === 0 ? { server: String(last) } : null
  return pinned
}

/**
 * The command line that runs `command` on the servers' core (unchanged when not pinning).
 * @param {string} command
 * @param {string[]} args
 * @returns {{ command: string, args: string[] }}
 */
export function onServerCore (command, args) {
  const core = pin()
  return core === null ? { command, args } : { command: 'taskset', args: ['-c', core.server, command, ...args] }
}

// ---------------------------------------------------------------------------------------------
// Processes

/** Every child started and not yet gone, to stop them on exit. */
const children = new Set(/** @type {import('node:child_process').ChildProcess[]} */ ([]))

/** @param {import('node:child_process').ChildProcess} child */
function track (child) {
  children.add(child)
  child.once('exit', () => { children.delete(child) })
}

/**
 * Forks a Node script of bench/ with an IPC channel and waits for its `ready` message.
 * @param {string} script
 * @param {string[]} args
 * @param {{ execArgv?: string[], pinned?: boolean, env?: NodeJS.ProcessEnv }} [options] `pinned`: on the servers' core
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, port: number, pid: number }>}
 */
export function forkReady (script, args, options = {}) {
  const execArgv = options.execArgv ?? []
  const core = options.pinned === true ? pin() : null
  const forkOptions = core !== null
    ? { execPath: 'taskset', execArgv: ['-c', core.server, process.execPath, ...execArgv] }
    : { execArgv }
  const child = fork(join(here, script), args, {
    ...forkOptions,
    ...(options.env === undefined ? {} : { env: options.env }),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  track(child)
  return new Promise((resolve, reject) => {
    const onExit = (/** @type {number | null} */ code) => { reject(new Error(`${script} ${args.join(' ')} exited with ${code}`)) }
    child.once('exit', onExit)
    child.once('message', (/** @type {{ type: string, port: number, pid: number }} */ message) => {
      child.off('exit', onExit)
      if (message.type === 'ready') resolve({ child, port: message.port, pid: message.pid })
      else reject(new Error(`${script}: unexpected message ${JSON.stringify(message)}`))
    })
  })
}

/**
 * Asks a forked child to close (or sends SIGTERM to a spawned one), and waits for it to exit;
 * kills it after 5 s.
 * @param {import('node:child_process').ChildProcess} child
 */
export async function stopChild (child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => { child.once('exit', resolve) })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 5000)
  if (child.connected) child.send({ type: 'close' })
  else child.kill('SIGTERM')
  await exited
  clearTimeout(timer)
}

/** Stops every child still running (on exit, or on Ctrl+C). */
export async function stopAll () {
  await Promise.all([...children].map(stopChild))
}

/**
 * Starts a program that is not a Node script of bench/ (the Go gateway), optionally on the
 * servers' core, and waits until `port` accepts connections.
 * @param {string} command
 * @param {string[]} args
 * @param {number} port
 * @param {{ pinned?: boolean }} [options]
 * @returns {Promise<import('node:child_process').ChildProcess>}
 */
export async function spawnListening (command, args, port, options = {}) {
  const line = options.pinned === true ? onServerCore(command, args) : { command, args }
  // Its output is left out: the Go gateway logs every request the load generator cuts short.
  const child = spawn(line.command, line.args, { stdio: 'ignore' })
  track(child)
  await waitForPort(port, child)
  return child
}

/** A port free right now on 127.0.0.1 (for programs that cannot report the port they got). */
export function freePort () {
  return new Promise(
    /** @param {(port: number) => void} resolve */
    (resolve, reject) => {
      const server = net.createServer()
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const { port } = /** @type {net.AddressInfo} */ (server.address())
        server.close(() => { resolve(port) })
      })
    })
}

/**
 * @param {number} port
 * @param {import('node:child_process').ChildProcess} child
 */
async function waitForPort (port, child) {
  const deadline = performance.now() + 10_000
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited with ${child.exitCode}`)
    const open = await new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => { socket.destroy(); resolve(true) })
      socket.once('error', () => { resolve(false) })
    })
    if (open) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${child.spawnfile}: port ${port} not open after 10 s`)
}

/**
 * CPU time of a process so far, all its threads, in µs: the sum of the first field of
 * /proc/<pid>/task/<tid>/schedstat (ns on the CPU). Precise to the ns, unlike the 10 ms ticks
 * of /proc/<pid>/stat; threads that already exited are not counted (a Go program's threads
 * and Node's stay). Null where /proc is not there.
 * @param {number} pid
 * @returns {number | null}
 */
export function cpuMicrosOf (pid) {
  try {
    let ns = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      } catch {
        // the thread exited while we were reading
      }
    }
    return ns / 1000
  } catch {
    return null
  }
}

// ---------------------------------------------------------------------------------------------
// Benchmark servers (bench/server.mjs)

/**
 * @typedef {object} Server
 * @property {string} scenario
 * @property {number} port
 * @property {number} pid
 * @property {import('node:child_process').ChildProcess} child
 * @property {(gc?: boolean) => Promise<{ heapUsed: number, rss: number, cpuMicros: number }>} stats
 * @property {() => Promise<void>} stop
 */

/**
 * Starts one app of bench/apps.mjs in a fresh process (bench/server.mjs).
 * @param {import('./apps.mjs').Scenario} scenario
 * @param {{ size?: number, execArgv?: string[], pinned?: boolean }} [options] `pinned` defaults to true
 * @returns {Promise<Server>}
 */
export async function startServer (scenario, options = {}) {
  const args = [scenario, '0', ...(options.size === undefined ? [] : [String(options.size)])]
  const { child, port, pid } = await forkReady('server.mjs', args, {
    execArgv: ['--expose-gc', ...(options.execArgv ?? [])],
    pinned: options.pinned ?? true
  })
  return {
    scenario,
    port,
    pid,
    child,
    stats: (gc = false) => new Promise((resolve) => {
      child.once('message', resolve)
      child.send({ type: 'stats', gc })
    }),
    stop: () => stopChild(child)
  }
}

/**
 * One GET: status, headers and body.
 * @param {number} port
 * @param {string} path
 * @param {Record<string, string>} [headers]
 * @returns {Promise<{ status: number, headers: http.IncomingHttpHeaders, body: string }>}
 */
export function get (port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk) => { body += chunk })
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, headers: response.headers, body }) })
    }).on('error', reject)
  })
}

// ---------------------------------------------------------------------------------------------
// Loading servers at once

/**
 * What the runner loads: one setup of a group, started for one round.
 * @typedef {object} Target
 * @property {string} key
 * @property {number} port
 * @property {string} path
 * @property {Record<string, string>} [headers]
 * @property {number[]} pids processes whose CPU time this setup costs (a gateway and its upstream: both)
 */

/**
 * @typedef {object} LoadResult
 * @property {number} rps 2xx responses per second, within the window common to every target
 * @property {number} p50 latency, ms
 * @property {number} p99
 * @property {number} cpuPerRequest CPU time of the setup's processes per response, µs
 * @property {number} cpuShare CPU time of the setup's processes per wall second (1 = one core)
 */

/** Seconds cut at each end of a run so that the measured window is one where every target is loaded. */
const EDGE = 0.15

/**
 * Loads every target at the same time for `duration` seconds (plus `EDGE` at each end, not
 * counted): the responses counted are those completed inside one common window.
 * @param {readonly Target[]} targets
 * @param {number} duration
 * @returns {Promise<{ results: LoadResult[], loaderCpu: number }>}
 */
export async function loadAtOnce (targets, duration) {
  const cpuBefore = targets.map((target) => target.pids.map((pid) => cpuMicrosOf(pid) ?? 0))
  const loaderBefore = process.cpuUsage()
  const started = performance.now()
  const from = started + EDGE * 1000
  const to = from + duration * 1000
  const runs = targets.map((target) => {
    let latencies = new Float64Array(1 << 14)
    let inWindow = 0
    let total = 0
    let bad = 0
    const instance = autocannon({
      url: `http://127.0.0.1:${target.port}${target.path}`,
      connections: settings.connections,
      // autocannon checks for the end of a run at each sample: 1 s by default, too coarse.
      sampleInt: 50,
      duration: duration + 2 * EDGE,
      ...(target.headers === undefined ? {} : { headers: target.headers })
    })
    // Latencies are recorded here, in float ms: autocannon's own histogram rounds to whole ms.
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode !== 200) {
        bad++
        return
      }
      total++
      const now = performance.now()
      if (now < from || now > to) return
      if (inWindow === latencies.length) {
        const grown = new Float64Array(latencies.length * 2)
        grown.set(latencies)
        latencies = grown
      }
      latencies[inWindow++] = responseTime
    })
    return Promise.resolve(instance).then((result) => {
      if (bad > 0 || result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
        throw new Error(`${target.key}: ${bad} non-200 responses, ${result.errors} errors, ${result.timeouts} timeouts`)
      }
      return { latencies: latencies.subarray(0, inWindow).sort(), inWindow, total }
    })
  })
  const outcomes = await Promise.all(runs)
  const elapsed = (performance.now() - started) / 1000
  const loader = process.cpuUsage(loaderBefore)
  const results = outcomes.map((outcome, i) => {
    const before = cpuBefore[i] ?? []
    const cpu = (targets[i]?.pids ?? []).reduce((sum, pid, j) => sum + ((cpuMicrosOf(pid) ?? 0) - (before[j] ?? 0)), 0)
    return {
      rps: outcome.inWindow / duration,
      p50: quantile(outcome.latencies, 0.5),
      p99: quantile(outcome.latencies, 0.99),
      cpuPerRequest: cpu / outcome.total,
      cpuShare: cpu / 1e6 / elapsed
    }
  })
  return { results, loaderCpu: (loader.user + loader.system) / 1e6 / elapsed }
}

/**
 * @param {Float64Array} sorted
 * @param {number} q
 */
function quantile (sorted, q) {
  if (sorted.length === 0) return NaN
  return /** @type {number} */ (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))])
}

// ---------------------------------------------------------------------------------------------
// Rounds

/**
 * One setup of a group: how to start it fresh for a round.
 * @typedef {object} Setup
 * @property {string} key
 * @property {string} label
 * @property {() => Promise<{ target: Target, stop: () => Promise<void> }>} start
 */

/**
 * @typedef {object} GroupResult
 * @property {string} name
 * @property {Setup[]} setups
 * @property {Map<string, LoadResult[]>} runs by setup key, one per round
 * @property {{ serverCore: number[], loader: number[] }} cpu per round: the servers' CPU time
 *   summed (cores) and the load generator's
 */

/**
 * Runs a group for `settings.rounds` rounds. In each round every setup is started afresh (in
 * parallel), `check` looks at what they answer, they are warmed up together, then loaded
 * together for `settings.duration` seconds, and stopped.
 * @param {string} name
 * @param {Setup[]} setups the first is the baseline
 * @param {(targets: Target[]) => Promise<void>} [check] throws when a setup answers wrong
 * @param {{ durationFactor?: number }} [options] `durationFactor`: measure this many times
 *   `settings.duration` (large bodies, where a second holds few responses)
 * @returns {Promise<GroupResult>}
 */
export async function runGroup (name, setups, check, options = {}) {
  const duration = settings.duration * (options.durationFactor ?? 1)
  /** @type {GroupResult} */
  const result = { name, setups, runs: new Map(setups.map((setup) => [setup.key, []])), cpu: { serverCore: [], loader: [] } }
  for (let round = 0; round < settings.rounds; round++) {
    progress(`${name}: round ${round + 1}/${settings.rounds}, ${setups.length} setups at once`)
    const started = await Promise.allSettled(setups.map((setup) => setup.start()))
    const running = started.flatMap((one) => one.status === 'fulfilled' ? [one.value] : [])
    try {
      const failed = started.find((one) => one.status === 'rejected')
      if (failed !== undefined) throw /** @type {PromiseRejectedResult} */ (failed).reason
      const targets = running.map((one) => one.target)
      if (check !== undefined && round === 0) await check(targets)
      await loadAtOnce(targets, settings.warmup)
      const { results, loaderCpu } = await loadAtOnce(targets, duration)
      results.forEach((outcome, i) => { result.runs.get(setups[i]?.key ?? '')?.push(outcome) })
      result.cpu.serverCore.push(results.reduce((sum, outcome) => sum + outcome.cpuShare, 0))
      result.cpu.loader.push(loaderCpu)
    } finally {
      await Promise.all(running.map((one) => one.stop()))
    }
  }
  return result
}

/**
 * A setup served by one app of bench/apps.mjs.
 * @param {string} key
 * @param {string} label
 * @param {import('./apps.mjs').Scenario} scenario
 * @param {{ path: string, headers?: Record<string, string>, size?: number }} request
 * @returns {Setup}
 */
export function appSetup (key, label, scenario, request) {
  return {
    key,
    label,
    start: async () => {
      const server = await startServer(scenario, request.size === undefined ? {} : { size: request.size })
      return {
        target: { key, port: server.port, path: request.path, ...(request.headers === undefined ? {} : { headers: request.headers }), pids: [server.pid] },
        stop: server.stop
      }
    }
  }
}

/**
 * Ratios of req/s, per round, of setup `key` to setup `to` (both of the same round).
 * @param {GroupResult} group
 * @param {string} key
 * @param {string} to
 */
export function ratios (group, key, to) {
  const a = group.runs.get(key) ?? []
  const b = group.runs.get(to) ?? []
  return a.map((run, i) => run.rps / (b[i]?.rps ?? NaN))
}

/**
 * Ratios, per round, of the CPU time per request of setup `key` to that of setup `to`: the
 * same comparison as `ratios` measured on the servers' side (`cpuRatios(g, 'bare', 'plugin')`
 * reads like `ratios(g, 'plugin', 'bare')`: below 1 when the plugin costs more).
 * @param {GroupResult} group
 * @param {string} key
 * @param {string} to
 */
export function cpuRatios (group, key, to) {
  const a = group.runs.get(key) ?? []
  const b = group.runs.get(to) ?? []
  return a.map((run, i) => run.cpuPerRequest / (b[i]?.cpuPerRequest ?? NaN))
}

/**
 * The absolute figures of a group: req/s, latency, CPU per request, and the ratio to the baseline.
 * @param {GroupResult} group
 * @param {{ body?: (key: string) => string }} [options]
 */
export function groupTable (group, options = {}) {
  const baseline = /** @type {Setup} */ (group.setups[0])
  const rows = group.setups.map((setup) => {
    const runs = group.runs.get(setup.key) ?? []
    return [
      setup.label,
      ...(options.body === undefined ? [] : [options.body(setup.key)]),
      spread(runs.map((run) => run.rps), fmt.rps),
      spread(runs.map((run) => run.cpuPerRequest), fmt.us),
      spread(runs.map((run) => run.p50), fmt.ms),
      setup === baseline ? '1 (baseline)' : spread(ratios(group, setup.key, baseline.key), fmt.ratio),
      setup === baseline ? '1' : spread(cpuRatios(group, baseline.key, setup.key), fmt.ratio)
    ]
  })
  return table(['setup', ...(options.body === undefined ? [] : ['body']), 'req/s (one core shared)', 'CPU µs/req', 'p50 ms',
    `req/s ratio to ${baseline.key}`, `CPU/req of ${baseline.key} / setup's`], rows) +
    `\nservers' core busy ${spread(group.cpu.serverCore, fmt.pct)}, load generator ${spread(group.cpu.loader, fmt.pct)} of its core`
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

/** @param {readonly number[]} values */
export function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? /** @type {number} */ (sorted[middle]) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2
}

/**
 * `median (min–max)`
 * @param {readonly number[]} values
 * @param {(value: number) => string} format
 */
export function spread (values, format) {
  if (values.length === 0) return '-'
  if (values.length === 1) return format(/** @type {number} */ (values[0]))
  return `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`
}

export const fmt = {
  rps: (/** @type {number} */ value) => value >= 1000 ? value.toFixed(0) : value.toFixed(1),
  ms: (/** @type {number} */ value) => value < 10 ? value.toFixed(2) : value.toFixed(1),
  us: (/** @type {number} */ value) => value < 1000 ? value.toFixed(1) : value.toFixed(0),
  ratio: (/** @type {number} */ value) => value.toFixed(3),
  pct: (/** @type {number} */ value) => `${(value * 100).toFixed(0)}%`,
  bytes: (/** @type {number} */ value) => value >= MB ? `${(value / MB).toFixed(2)} MB` : value >= KB ? `${(value / KB).toFixed(1)} KB` : `${value} B`,
  mb: (/** @type {number} */ value) => `${(value / MB).toFixed(2)} MB`
}

/**
 * A plain text table: columns padded to their widest cell; all but the first to the right.
 * @param {string[]} header
 * @param {string[][]} rows
 */
export function table (header, rows) {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)))
  /** @param {string[]} row */
  const line = (row) => row.map((cell, i) => i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n')
}

/**
 * `0.912 holds` or `0.850 MISSED by 3.5 pts` (judged on the median).
 * @param {readonly number[]} values
 * @param {number} target
 */
export function verdict (values, target) {
  const value = median(values)
  return `${fmt.ratio(value)} ${value >= target ? 'holds' : `MISSED by ${((target - value) * 100).toFixed(1)} pts`}`
}

/** @param {string} message */
export function progress (message) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}

/**
 * Sends `amount` requests to one server (the memory part), `settings.connections` at a time.
 * @param {number} port
 * @param {string} path
 * @param {number} amount
 */
export async function loadRequests (port, path, amount) {
  const result = await autocannon({ url: `http://127.0.0.1:${port}${path}`, connections: settings.connections, sampleInt: 50, amount })
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(`${path}: ${result.non2xx} non-2xx responses, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
}
