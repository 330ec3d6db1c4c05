// @ts-check
// Part "profile" (not in the default run): profiles one app of bench/apps.mjs (V8's CPU
// profiler, through the inspector, started after the warm-up: the startup is left out) for a
// few seconds of load, and summarizes where its time went (bench/cpu-profile.mjs).
// `node bench/run.mjs profile --profile=plugin-book,hook-book,plugin-collection@...`
// (`scenario@bytes` for the blob scenarios; default: plugin-book,hook-book).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isScenario, pathOf } from '../apps.mjs'
import { formatSummary, summarizeProfile } from '../cpu-profile.mjs'
import { fmt, loadAtOnce, settings, startServer } from '../runner.mjs'

/** @param {string} spec `scenario` or `scenario@bytes` */
async function profileOne (spec) {
  const [name = '', sizeText] = spec.split('@')
  if (!isScenario(name) || name.startsWith('latency-')) throw new Error(`profile: unknown scenario "${name}"`)
  const size = sizeText === undefined ? undefined : Number(sizeText)
  const dir = await mkdtemp(join(tmpdir(), 'push-relations-profile-'))
  const server = await startServer(name, size === undefined ? {} : { size })
  const file = join(dir, 'server.cpuprofile')
  /** @param {string} path */
  const toggle = (path) => new Promise((resolve) => {
    server.child.once('message', resolve)
    server.child.send({ type: 'profile', file: path })
  })
  try {
    const target = { key: name, port: server.port, path: pathOf(name), pids: [server.pid] }
    await loadAtOnce([target], Math.max(1, settings.warmup))
    await toggle(file)
    const { results: [outcome] } = await loadAtOnce([target], Math.max(5, settings.duration * 2))
    await toggle(file)
    const data = JSON.parse(await readFile(file, 'utf8'))
    const dist = fileURLToPath(new URL('../../dist/', import.meta.url))
    const hook = name.startsWith('hook-')
    const own = hook ? fileURLToPath(new URL('../apps.mjs', import.meta.url)) : dist
    return `\n## Profile of ${spec}: ${fmt.rps(outcome?.rps ?? 0)} req/s while profiled (profiling slows it down)\n\n` +
      formatSummary(summarizeProfile(data, own, 15), hook ? 'the hand-written hook (bench/apps.mjs)' : 'fastify-push-relations (dist/)')
  } finally {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

/** @param {string} list */
export async function runProfile (list) {
  const texts = []
  for (const spec of list.split(',')) texts.push(await profileOne(spec.trim()))
  return { text: texts.join('\n'), targets: [], raw: null }
}
