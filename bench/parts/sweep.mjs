// @ts-check
// Part "sweep": the plugin's cost as the payload grows from 1 KB to 1 MB, with one relation,
// against a naive reference that finds the link by JSON.parse-ing the serialized body.
// The plugin reads only the annotated path, so its ratio to bare must not fall as the body
// grows; the naive one's does. `node bench/run.mjs sweep`.
import { appSetup, fmt, get, KB, median, MB, ratios, runGroup, settings, spread, table } from '../runner.mjs'
import { rawOf } from './overhead.mjs'

/** @typedef {import('../runner.mjs').GroupResult} GroupResult */

const SIZES = [1 * KB, 10 * KB, 100 * KB, 1 * MB]
/** A change of a ratio smaller than this is noise, not a fall. */
const TOLERANCE = 0.02

export async function runSweep () {
  /** @type {Array<{ size: number, bytes: number, group: GroupResult }>} */
  const results = []
  for (const size of SIZES) {
    let bytes = 0
    const request = { path: '/books/1', size }
    const group = await runGroup(`sweep, ${fmt.bytes(size)}`, [
      appSetup('bare', `bare Fastify, ${fmt.bytes(size)}`, 'baseline-blob', request),
      appSetup('control', 'bare again (A/A)', 'baseline-blob', request),
      appSetup('plugin', 'plugin, 1 relation', 'plugin-blob', request),
      appSetup('naive', 'naive onSend JSON.parse', 'naive-blob', request)
    ], async (targets) => {
      const answers = await Promise.all(targets.map((target) => get(target.port, target.path)))
      bytes = Buffer.byteLength(answers[0]?.body ?? '')
      answers.forEach((answer, i) => {
        if (answer.status !== 200 || Buffer.byteLength(answer.body) !== bytes) throw new Error(`${targets[i]?.key}: status ${answer.status} or body size differs`)
      })
    }, { durationFactor: size >= MB ? 3 : size >= 100 * KB ? 1.5 : 1 })
    results.push({ size, bytes, group })
  }
  /** @param {string} key */
  const series = (key) => results.map((result) => median(ratios(result.group, key, 'bare')))
  /** @param {number[]} values */
  const falls = (values) => Math.min(...values.slice(1)) < (values[0] ?? NaN) - TOLERANCE
  const plugin = series('plugin')
  const naive = series('naive')
  const text = [
    `\n## Payload sweep: one relation, body from 1 KB to 1 MB (${settings.rounds} rounds, servers of a size on one core at once)\n`,
    table(['body', 'A/A control', 'plugin / bare', 'naive JSON.parse / bare', 'CPU µs/req bare', 'plugin', 'naive'], results.map(({ bytes, group }) => {
      const cpu = (/** @type {string} */ key) => fmt.us(median((group.runs.get(key) ?? []).map((run) => run.cpuPerRequest)))
      return [fmt.bytes(bytes), spread(ratios(group, 'control', 'bare'), fmt.ratio), spread(ratios(group, 'plugin', 'bare'), fmt.ratio),
        spread(ratios(group, 'naive', 'bare'), fmt.ratio), cpu('bare'), cpu('plugin'), cpu('naive')]
    }))
  ].join('\n')
  const line = (/** @type {number[]} */ values) => values.map((value, i) => `${fmt.ratio(value)} (${fmt.bytes(SIZES[i] ?? 0)})`).join(' -> ')
  const targets = [
    `plugin as the payload grows: ${line(plugin)}: ${falls(plugin) ? 'FALLS (missed)' : 'does not fall (holds)'}`,
    `naive JSON.parse as the payload grows: ${line(naive)}: ${falls(naive) ? 'falls' : 'does not fall'}`
  ]
  return { text, targets, raw: results.map(({ size, bytes, group }) => ({ size, bytes, ...rawOf(group) })) }
}
