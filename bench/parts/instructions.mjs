// @ts-check
// Part "instructions" (not in the default run; needs valgrind): instructions per request, counted
// by `valgrind --tool=callgrind`, which counts the same for the same work however loaded the
// machine is. On a shared 2-core VM, req/s and CPU time move by 10 to 20 % between processes
// and runs; instruction counts do not, but they move with where V8's major GCs and late
// recompilations fall in the window (a few per cent, once half for one setup): compare within a run.
// Each scenario serves itself N1, then N2 requests (bench/instructions.mjs, one keep-alive connection, Node's `--single-threaded` so that
// garbage collection and compilation run on the counted thread); (I(N2) - I(N1)) / (N2 - N1) is
// the steady-state cost of one request, startup and warm-up left out.
// `node bench/run.mjs instructions` (about 20 minutes on 2 cores: valgrind runs Node some 50 times slower);
// `--quick` counts fewer requests (a smoke run: its counts still include some compilation).
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { pathOf } from '../apps.mjs'
import { settings, table } from '../runner.mjs'

const run = promisify(execFile)
const SCRIPT = fileURLToPath(new URL('../instructions.mjs', import.meta.url))

/** @typedef {import('../apps.mjs').Scenario} Scenario */

/** The groups, each measured against its first scenario. */
const GROUPS = /** @type {const} */ ([
  ['baseline-book', 'link-book', 'hooks-book', 'hook-book', 'plugin-book', 'plugin-plain'],
  ['baseline-collection', 'hook-collection', 'plugin-collection']
])

/** Requests of the two runs of a scenario: a collection request costs some 6 times a book's. */
function windowOf (/** @type {Scenario} */ scenario) {
  const window = scenario.endsWith('-collection') ? [2_000, 5_000] : [4_000, 10_000]
  // --quick: a smoke run, whose counts still include some of V8's compilation.
  return settings.quick ? window.map((requests) => requests / 2) : window
}

/**
 * Instructions of one process serving `requests` requests of `scenario`.
 * @param {Scenario} scenario
 * @param {number} requests
 * @param {string} dir
 */
async function count (scenario, requests, dir) {
  const out = join(dir, `${scenario}.${requests}.cg`)
  await run('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--single-threaded', SCRIPT, scenario, String(requests), pathOf(scenario)],
    { maxBuffer: 16 * 1024 * 1024 })
  const summary = /^summary: (\d+)$/m.exec(await readFile(out, 'utf8'))
  if (summary === null) throw new Error(`instructions: no summary in ${out}`)
  return Number(summary[1])
}

/**
 * Runs `jobs` two at a time (the machine's two cores; counts do not depend on the load).
 * @template T
 * @param {Array<() => Promise<T>>} jobs
 */
async function twoAtATime (jobs) {
  /** @type {T[]} */
  const results = []
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++
      results[index] = await /** @type {() => Promise<T>} */ (jobs[index])()
    }
  }
  await Promise.all([worker(), worker()])
  return results
}

/** @returns {Promise<import('../run.mjs').PartResult>} */
export async function runInstructions () {
  try {
    await run('valgrind', ['--version'])
  } catch {
    return { text: '\n## Instructions per request\n\nvalgrind is not installed (Debian: `apt-get install valgrind`); part skipped.\n', targets: [], raw: null }
  }
  const dir = await mkdtemp(join(tmpdir(), 'push-relations-instructions-'))
  try {
    const scenarios = GROUPS.flat()
    // V8 still compiles the hot code during the first thousands of requests: the first run leaves them out.
    const counts = await twoAtATime(scenarios.flatMap((scenario) => windowOf(scenario).map((requests) => () => count(scenario, requests, dir))))
    /** @type {Map<string, number>} */
    const perRequest = new Map(scenarios.map((scenario, index) => {
      const [first = 0, second = 0] = windowOf(scenario)
      return [scenario, ((counts[2 * index + 1] ?? 0) - (counts[2 * index] ?? 0)) / (second - first)]
    }))
    const rows = GROUPS.flatMap((group) => group.map((scenario) => {
      const own = perRequest.get(scenario) ?? 0
      const base = perRequest.get(group[0]) ?? own
      const hook = perRequest.get(group[0].replace('baseline', 'hook')) ?? own
      return [scenario, Math.round(own).toLocaleString('en'), (own - base >= 0 ? '+' : '') + Math.round(own - base).toLocaleString('en'),
        (base / own).toFixed(3), scenario.startsWith('plugin-') && !scenario.endsWith('plain') ? (hook / own).toFixed(3) : '']
    }))
    const [book, collection] = [windowOf('plugin-book'), windowOf('plugin-collection')].map(([first = 0, second = 0]) => `${first.toLocaleString('en')} to ${second.toLocaleString('en')}`)
    const text = `\n## Instructions per request (valgrind callgrind, Node ${process.version} --single-threaded; requests ${book} (book), ${collection} (collection) of one keep-alive connection)\n\n` +
      table(['scenario', 'instructions/request', 'over bare', 'bare / scenario', 'hook / plugin'], rows) + '\n'
    return { text, targets: [], raw: Object.fromEntries(perRequest) }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
