// @ts-check
// Part "soak": the native push soak (bench/push-soak.mjs, docs/http2-push.md). Requests with
// two-hop pushes, resets, torn-down sessions and pushes past pushTimeout, in a process of its
// own with --expose-gc, under Fastify's default http2SessionTimeout: what the plugin keeps per
// session must not live as long as Node holds a closed session. `node bench/run.mjs soak`.
import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { fmt, MB, progress, settings } from '../runner.mjs'

const here = dirname(dirname(fileURLToPath(import.meta.url)))

/** From the second quarter of the run on (the first warms the JIT up), the heap may move by this much: measured noise is ±0.25 MB. */
const TOLERANCE = 0.75 * MB

/**
 * @typedef {{ heapUsed: number, resources: Record<string, number>, openSessions: number, openStreams: number }} SoakSnapshot
 * @typedef {{ total: number, step: number, measured: { pushes: number, requests: number }, seconds: number, after: SoakSnapshot, series: number[] }} SoakResult
 */

export async function runSoak () {
  const requests = settings.quick ? 1_000 : 4_000
  progress(`soak: ${requests} requests with native pushes...`)
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', join(here, 'push-soak.mjs'), String(requests), String(requests / 4)], {
    env: { ...process.env, SLOW_MS: '80', PUSH_TIMEOUT_MS: '50', SESSION_TIMEOUT_MS: '72000' },
    maxBuffer: 16 * MB
  })
  /** @type {SoakResult} */
  const soak = JSON.parse(stdout)
  // PipeWrap: the soak's own stdout and stderr, piped to this process.
  const { PipeWrap: _stdio, TCPServerWrap: listening, ...others } = soak.after.resources
  const left = Object.entries(others).map(([type, count]) => `${count} ${type}`)
  const clean = soak.after.openSessions === 0 && soak.after.openStreams === 0 && left.length === 0 && listening === 1
  const from = soak.series[1] ?? soak.series[0] ?? 0
  const growth = (soak.series.at(-1) ?? 0) - from
  const verdict = `push soak: sessions ${soak.after.openSessions}, streams ${soak.after.openStreams}, other handles ${left.length === 0 ? 'none' : left.join(', ')} left ` +
    `${clean ? 'holds' : 'MISSED'}; heap growth over the last three quarters ${fmt.mb(growth)}, target < ${fmt.mb(TOLERANCE)} ${growth < TOLERANCE ? 'holds' : 'MISSED'}`
  const text = [
    '\n## Push soak: what a long run with native pushes leaves behind (bench/push-soak.mjs)\n',
    `${soak.measured.requests.toLocaleString('en')} requests, ${soak.measured.pushes.toLocaleString('en')} pushes in ${soak.seconds.toFixed(0)} s; ` +
      `heap after each ${soak.step.toLocaleString('en')} requests: ${soak.series.map((heap) => fmt.mb(heap)).join(', ')}`,
    verdict
  ].join('\n')
  return { text, targets: [verdict], raw: soak }
}
