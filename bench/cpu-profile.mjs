// @ts-check
// Reads a V8 CPU profile (`node --cpu-prof`) and says where a server's time went: its busy
// time, the share spent in the plugin's own code (with everything it calls), and the busiest
// functions. Used by `npm run bench -- --profile=<scenario>`; also runnable on its own:
// `node bench/cpu-profile.mjs <file.cpuprofile> [pathPart]`.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

/**
 * @typedef {{ functionName: string, url: string, lineNumber: number, columnNumber: number }} CallFrame
 * @typedef {{ id: number, callFrame: CallFrame, children?: number[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[] }} CpuProfile
 * @typedef {{ name: string, where: string, ms: number, share: number }} FunctionTime
 * @typedef {object} ProfileSummary
 * @property {number} totalMs the profile's duration
 * @property {number} busyMs time not idle
 * @property {number} gcMs garbage collection
 * @property {number} ownMs time inside frames whose script path contains `pathPart`, callees included
 * @property {number} ownShare `ownMs / busyMs`
 * @property {FunctionTime[]} ownInclusive the outermost `pathPart` functions, with their callees
 * @property {FunctionTime[]} ownSelf self time of the functions run by own code (own functions,
 *   and what they call: built-ins, regular expressions, Node and Fastify helpers)
 * @property {FunctionTime[]} topSelf all functions by self time
 */

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)'])

/**
 * Fastify's hook runner: a hook that calls `done()` runs the next hooks, the serializer and
 * the socket write from inside itself; none of that is the hook's cost.
 * @param {CallFrame} frame
 */
export function isFastifyContinuation (frame) {
  return /[/\\]node_modules[/\\]fastify[/\\]lib[/\\]hooks\.js$/.test(frame.url)
}

/** @param {CallFrame} frame */
function where (frame) {
  if (frame.url === '') return ''
  const file = frame.url.startsWith('file:') ? fileURLToPath(frame.url) : frame.url
  const short = file.replace(/^.*\/node_modules\//, '').replace(/^.*\/(dist|lib|bench)\//, '$1/')
  return `${short}:${frame.lineNumber + 1}`
}

/** @param {CallFrame} frame */
function nameOf (frame) {
  return frame.functionName === '' ? '(anonymous)' : frame.functionName
}

/**
 * @param {Map<string, number>} totals keyed by `name\twhere`
 * @param {number} busy
 * @param {number} count
 * @returns {FunctionTime[]}
 */
function top (totals, busy, count) {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, us]) => {
      const [name = '', at = ''] = key.split('\t')
      return { name, where: at, ms: us / 1000, share: busy > 0 ? us / busy : 0 }
    })
}

/**
 * @param {CpuProfile} profile
 * @param {string} pathPart frames whose script path contains it count as "own" code
 * @param {number} [count] functions listed per table
 * @param {(frame: CallFrame) => boolean} [continuation] frames through which own code hands
 *   control back to its caller's machinery: they and what they call are not counted as own
 * @returns {ProfileSummary}
 */
export function summarizeProfile (profile, pathPart, count = 12, continuation = isFastifyContinuation) {
  /** @type {Map<number, ProfileNode>} */
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  /** @type {Map<number, number>} */
  const self = new Map()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const id = /** @type {number} */ (profile.samples[i])
    const delta = profile.timeDeltas[i] ?? 0
    total += delta
    self.set(id, (self.get(id) ?? 0) + delta)
  }
  let idle = 0
  let gc = 0
  /** @type {Map<string, number>} */
  const selfByFunction = new Map()
  /** @type {Map<string, number>} */
  const ownSelfByFunction = new Map()
  for (const [id, us] of self) {
    const frame = /** @type {ProfileNode} */ (byId.get(id)).callFrame
    if (frame.functionName === '(idle)') idle += us
    if (frame.functionName === '(garbage collector)') gc += us
    if (frame.functionName === '(idle)') continue
    const key = `${nameOf(frame)}\t${where(frame)}`
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + us)
  }
  const busy = total - idle

  // Inclusive time of the outermost own frames: what they call is theirs, except where they
  // hand control back to the framework (`continuation`: Fastify's hook runner, called through
  // a hook's `done`, runs the rest of the request from inside the hook).
  /** @type {Map<string, number>} */
  const ownInclusive = new Map()
  let own = 0
  /** @type {Array<[ProfileNode, string | null]>} */
  const stack = profile.nodes[0] === undefined ? [] : [[profile.nodes[0], null]]
  while (stack.length > 0) {
    const [node, outer] = /** @type {[ProfileNode, string | null]} */ (stack.pop())
    const frame = node.callFrame
    let owner = outer
    if (owner !== null && continuation(frame)) owner = null
    if (owner === null && !SPECIAL.has(frame.functionName) && frame.url.includes(pathPart)) owner = `${nameOf(frame)}\t${where(frame)}`
    if (owner !== null) {
      const us = self.get(node.id) ?? 0
      own += us
      ownInclusive.set(owner, (ownInclusive.get(owner) ?? 0) + us)
      const key = `${nameOf(frame)}\t${where(frame)}`
      ownSelfByFunction.set(key, (ownSelfByFunction.get(key) ?? 0) + us)
    }
    for (const child of node.children ?? []) {
      const next = byId.get(child)
      if (next !== undefined) stack.push([next, owner])
    }
  }

  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    gcMs: gc / 1000,
    ownMs: own / 1000,
    ownShare: busy > 0 ? own / busy : 0,
    ownInclusive: top(ownInclusive, busy, count),
    ownSelf: top(ownSelfByFunction, busy, count),
    topSelf: top(selfByFunction, busy, count)
  }
}

/**
 * @param {ProfileSummary} summary
 * @param {string} label what "own" code is
 * @returns {string}
 */
export function formatSummary (summary, label) {
  const pct = (/** @type {number} */ share) => `${(share * 100).toFixed(1).padStart(5)} %`
  const lines = [
    `busy ${summary.busyMs.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms; GC ${summary.gcMs.toFixed(0)} ms (${pct(summary.busyMs > 0 ? summary.gcMs / summary.busyMs : 0).trim()} of busy)`,
    `${label}, callees included: ${summary.ownMs.toFixed(0)} ms = ${pct(summary.ownShare).trim()} of busy time`
  ]
  /** @param {string} title @param {FunctionTime[]} rows */
  const table = (title, rows) => {
    lines.push('', title)
    for (const row of rows) lines.push(`  ${pct(row.share)}  ${row.name}  ${row.where}`)
  }
  table(`${label}: outermost functions, callees included (% of busy time)`, summary.ownInclusive)
  table(`${label}: self time of what it runs (its functions, built-ins and helpers it calls)`, summary.ownSelf)
  table('all functions: self time', summary.topSelf)
  return lines.join('\n')
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, pathPart = '/dist/'] = process.argv.slice(2)
  if (file === undefined) {
    console.error('usage: node bench/cpu-profile.mjs <file.cpuprofile> [pathPart]')
    process.exit(2)
  }
  const profile = /** @type {CpuProfile} */ (JSON.parse(await readFile(file, 'utf8')))
  console.log(formatSummary(summarizeProfile(profile, pathPart), `code under ${pathPart}`))
}
