// @ts-check
// Part "profile" (not in the default run): runs one app of bench/apps.mjs under --cpu-prof
// for a few seconds of load and summarizes where its time went (bench/cpu-profile.mjs).
// `node bench/run.mjs profile --profile=plugin-book,hook-book,plugin-collection@...`
// (`scenario@bytes` for the blob scenarios; default: plugin-book,hook-book).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
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
  const server = await startServer(name, { ...(size === undefined ? {} : { size }), execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`] })
  try {
    const target = { key: name, port: server.port, path: pathOf(name), pids: [server.pid] }
    await loadAtOnce([target], settings.warmup)
    const { results: [outcome] } = await loadAtOnce([target], Math.max(5, settings.duration * 2))
    await server.stop()
    const file = (await readdir(dir)).find((entry) => entry.endsWith('.cpuprofile'))
    if (file === undefined) throw new Error(`${name}: no profile written`)
    const data = JSON.parse(await readFile(join(dir, file), 'utf8'))
    const dist = fileURLToPath(new URL('../../dist/', import.meta.url))
    const own = name.startsWith('hook-') ? fileURLToPath(new URL('../apps.mjs', import.meta.url)) : dist
    return `\n## Profile of ${spec}: ${fmt.rps(outcome?.rps ?? 0)} req/s under --cpu-prof (profiling slows it down)\n\n` +
      formatSummary(summarizeProfile(data, own, 15), name.startsWith('hook-') ? 'the hand-written hook (bench/apps.mjs)' : 'fastify-push-relations (dist/)')
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
