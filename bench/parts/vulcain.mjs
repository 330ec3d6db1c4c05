// @ts-check
// Part "vulcain": the Vulcain mode on the bookshop (example/bookshop.mjs's schemas, 100
// books), side by side with the reference Go gateway (dunglas/vulcain), over HTTP/1.1
// (autocannon): no push on this path, both answer with the filtered body and preload links.
//   S1  GET /books/1  Preload: "/author"  Fields: "/title", "/author"
//   S2  GET /books    Preload: "/member/*/author"
//   S3  S1 in the query form: /books/1?preload=...&fields=...&fields=...
// Setups, all on one core at once: the bare bookshop (no plugin, requests without
// directives: the baseline), the same again (A/A control), the plugin with `vulcain: true`,
// and the gateway in front of the bare bookshop (the gateway and its upstream share the core,
// and both processes' CPU time is its cost). The gateway runs when VULCAIN_GATEWAY names its
// binary (/work/shared/tools/vulcain-gateway/vulcain-gw here); otherwise it is skipped.
// `node bench/run.mjs vulcain`.
import { existsSync } from 'node:fs'
import { isDeepStrictEqual } from 'node:util'
import { preloadLinks } from '../preload-latency.mjs'
import {
  appSetup, cpuRatios, fmt, freePort, get, groupTable, median, ratios, runGroup, settings, spawnListening, spread, startServer, stopChild, table, verdict
} from '../runner.mjs'
import { rawOf } from './overhead.mjs'

/**
 * @typedef {import('../runner.mjs').GroupResult} GroupResult
 * @typedef {import('../runner.mjs').Setup} Setup
 * @typedef {import('../runner.mjs').Target} Target
 * @typedef {{ name: string, title: string, path: string, plainPath: string, headers: Record<string, string> }} Scenario
 */

const q = encodeURIComponent

/** @type {Scenario[]} */
const SCENARIOS = [
  { name: 'S1', title: '/books/1, Preload "/author", Fields "/title", "/author"', path: '/books/1', plainPath: '/books/1', headers: { preload: '"/author"', fields: '"/title", "/author"' } },
  { name: 'S2', title: '/books (100 items), Preload "/member/*/author"', path: '/books', plainPath: '/books', headers: { preload: '"/member/*/author"' } },
  {
    name: 'S3',
    title: 'S1 in the query form',
    path: `/books/1?preload=${q('"/author"')}&fields=${q('"/title"')}&fields=${q('"/author"')}`,
    plainPath: '/books/1',
    headers: {}
  }
]

/**
 * The gateway in front of a fresh bare bookshop, both on the servers' core.
 * @param {string} binary
 * @param {Scenario} scenario
 * @returns {Setup}
 */
function gatewaySetup (binary, scenario) {
  return {
    key: 'gateway',
    label: 'Go gateway + bare upstream',
    start: async () => {
      const upstream = await startServer('bookshop-bare')
      try {
        const port = await freePort()
        const gateway = await spawnListening(binary, ['-addr', `127.0.0.1:${port}`, '-upstream', `http://127.0.0.1:${upstream.port}`], port, { pinned: true })
        return {
          target: { key: 'gateway', port, path: scenario.path, headers: scenario.headers, pids: [gateway.pid ?? 0, upstream.pid] },
          stop: async () => { await Promise.all([stopChild(gateway), upstream.stop()]) }
        }
      } catch (error) {
        await upstream.stop()
        throw error
      }
    }
  }
}

/**
 * Checks the answers: 200 everywhere; the plugin's body differs from the bare one where Fields
 * applies; the gateway's body is the plugin's (as JSON) and their preload links are the same
 * set (the gateway repeats a link once per match). Differences are reported, not fatal: they
 * are the gateway's or the plugin's documented deviations (docs/vulcain.md).
 * @param {Scenario} scenario
 * @param {string[]} notes
 * @returns {(targets: Target[]) => Promise<void>}
 */
function checkVulcain (scenario, notes) {
  return async (targets) => {
    const answers = await Promise.all(targets.map((target) => get(target.port, target.path, target.headers)))
    const byKey = new Map(targets.map((target, i) => [target.key, /** @type {Awaited<ReturnType<typeof get>>} */ (answers[i])]))
    for (const [key, answer] of byKey) if (answer.status !== 200) throw new Error(`${scenario.name} ${key}: status ${answer.status}`)
    const plugin = /** @type {Awaited<ReturnType<typeof get>>} */ (byKey.get('plugin'))
    const links = (/** @type {Awaited<ReturnType<typeof get>>} */ answer) => new Set(preloadLinks(answer.headers.link).map((link) => link.path))
    const pluginLinks = links(plugin)
    if (pluginLinks.size === 0) throw new Error(`${scenario.name}: the plugin sent no preload link`)
    const gateway = byKey.get('gateway')
    if (gateway === undefined) {
      notes.push(`${scenario.name}: plugin ${Buffer.byteLength(plugin.body)} B body, ${pluginLinks.size} preload links`)
      return
    }
    const gatewayLinks = links(gateway)
    const sameBody = isDeepStrictEqual(JSON.parse(plugin.body), JSON.parse(gateway.body))
    const onlyPlugin = [...pluginLinks].filter((path) => !gatewayLinks.has(path))
    const onlyGateway = [...gatewayLinks].filter((path) => !pluginLinks.has(path))
    notes.push(`${scenario.name}: plugin ${Buffer.byteLength(plugin.body)} B body, ${pluginLinks.size} preload links; ` +
      `gateway ${Buffer.byteLength(gateway.body)} B, ${preloadLinks(gateway.headers.link).length} links (${gatewayLinks.size} distinct); ` +
      `same JSON body: ${sameBody ? 'yes' : 'NO'}; ` +
      (onlyPlugin.length + onlyGateway.length === 0
        ? 'same links'
        : `links only the plugin sends: ${onlyPlugin.length} (the x-push fields of the members, which fill what Preload leaves of maxLinks), only the gateway: ${onlyGateway.length}`))
  }
}

export async function runVulcain () {
  const binary = process.env.VULCAIN_GATEWAY
  const gateway = binary !== undefined && binary !== '' && existsSync(binary) ? binary : null
  /** @type {string[]} */
  const notes = []
  /** @type {Array<{ scenario: Scenario, group: GroupResult }>} */
  const results = []
  for (const scenario of SCENARIOS) {
    const plain = { path: scenario.plainPath }
    const group = await runGroup(`vulcain ${scenario.name}`, [
      appSetup('bare', `bare bookshop, ${scenario.plainPath} without directives`, 'bookshop-bare', plain),
      appSetup('control', 'bare again, other process (A/A)', 'bookshop-bare', plain),
      appSetup('plugin', 'plugin, vulcain: true', 'bookshop-vulcain', { path: scenario.path, headers: scenario.headers }),
      ...(gateway === null ? [] : [gatewaySetup(gateway, scenario)])
    ], checkVulcain(scenario, notes))
    results.push({ scenario, group })
  }
  const lines = [
    `\n## Vulcain on the bookshop (100 books), HTTP/1.1, side by side with the Go gateway (${settings.rounds} rounds, ` +
      'each scenario\'s setups on one core at once)\n',
    gateway === null
      ? 'Go gateway: skipped (set VULCAIN_GATEWAY to the vulcain-gw binary to run it)'
      : `Go gateway: ${gateway} (in front of the bare bookshop; the gateway and its upstream share the core)`
  ]
  for (const { scenario, group } of results) lines.push('', `${scenario.name}: ${scenario.title}`, groupTable(group))
  /** @param {GroupResult} group @param {string} a @param {string} b */
  const cpuRatio = (group, a, b) => {
    const x = group.runs.get(a) ?? []
    const y = group.runs.get(b) ?? []
    return x.map((run, i) => run.cpuPerRequest / (y[i]?.cpuPerRequest ?? NaN))
  }
  lines.push('', 'Ratios (median (min–max) over the rounds); the CPU ratio is the gateway pair\'s CPU time per request over the plugin\'s:', '',
    table(['scenario', 'A/A control', 'plugin / bare', 'gateway / bare', 'plugin / gateway (req/s)', 'gateway CPU / plugin CPU'], results.map(({ scenario, group }) => [
      scenario.name,
      spread(ratios(group, 'control', 'bare'), fmt.ratio),
      spread(ratios(group, 'plugin', 'bare'), fmt.ratio),
      gateway === null ? 'skipped' : spread(ratios(group, 'gateway', 'bare'), fmt.ratio),
      gateway === null ? 'skipped' : spread(ratios(group, 'plugin', 'gateway'), (value) => value.toFixed(2)),
      gateway === null ? 'skipped' : spread(cpuRatio(group, 'gateway', 'plugin'), (value) => value.toFixed(2))
    ])),
    '', 'What each answered (first round):', ...notes.map((note) => `  ${note}`))
  const targets = results.map(({ scenario, group }) => {
    const times = (/** @type {number[]} */ values) => `${median(values).toFixed(2)}x ${median(values) >= 4 ? 'holds' : 'MISSED'}`
    return `vulcain ${scenario.name}: plugin >= 0.85 of bare: ${verdict(ratios(group, 'plugin', 'bare'), 0.85)} (CPU ${fmt.ratio(median(cpuRatios(group, 'bare', 'plugin')))}); ` +
      (gateway === null
        ? '>= 4x the gateway: skipped'
        : `>= 4x the gateway: req/s ${times(ratios(group, 'plugin', 'gateway'))}, CPU ${times(cpuRatio(group, 'gateway', 'plugin'))}`)
  })
  return { text: lines.join('\n'), targets, raw: results.map(({ scenario, group }) => ({ scenario, ...rawOf(group) })) }
}
