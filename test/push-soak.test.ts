import t from 'tap'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { uncoveredChildEnv } from './helpers/child-env.js'

/**
 * 4,000 requests with native pushes (two hops), over 80 HTTP/2 sessions, some pushes reset by
 * the client, some sessions torn down mid-flight, some pushes cancelled by pushTimeout: the
 * server must hold nothing more afterwards. Run in a child process with --expose-gc; it loads
 * the built package, as `npm run bench` does.
 */
interface Snapshot {
  heapUsed: number
  resources: Record<string, number>
  openSessions: number
  openStreams: number
}
interface SoakResult {
  measured: { pushes: number, requests: number }
  before: Snapshot
  after: Snapshot
  /** Heap after each 1,000 requests. */
  series: number[]
}

t.test('no growing number of sessions, streams, timers or heap after 4,000 requests with pushes', { timeout: 120_000 }, async (t) => {
  const script = join(__dirname, '..', 'bench', 'push-soak.mjs')
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', script, '4000'], {
    // Fastify's default http2SessionTimeout: Node holds closed sessions until their idle timer fires,
    // and whatever the plugin keeps per session must not live that long.
    env: uncoveredChildEnv({ SLOW_MS: '80', PUSH_TIMEOUT_MS: '50', SESSION_TIMEOUT_MS: '72000' })
  })
  const result = JSON.parse(stdout) as SoakResult
  t.ok(result.measured.pushes > 5000, `${result.measured.pushes} pushes for ${result.measured.requests} requests`)
  t.equal(result.after.openSessions, 0)
  t.equal(result.after.openStreams, 0)
  // PipeWrap: the child's own stdout and stderr, piped to this process.
  const { PipeWrap: _stdio, ...resources } = result.after.resources
  t.same(resources, { TCPServerWrap: 1 }, 'no timer, socket or session handle left: only the listening server')
  // From 2,000 to 4,000 requests (the first thousands warm the JIT up): measured here, the heap
  // moves by ±0.25 MB, noise; a leak of 250 bytes per request would add 0.5 MB more.
  const [, second, , fourth] = result.series as [number, number, number, number]
  t.ok(fourth - second < 750_000, `heap after 2,000 requests ${(second / 1e6).toFixed(2)} MB, after 4,000 ${(fourth / 1e6).toFixed(2)} MB`)
})
