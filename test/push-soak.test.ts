import t from 'tap'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { uncoveredChildEnv } from './helpers/child-env.js'

/**
 * A short soak: 600 requests with native pushes (two hops), over HTTP/2 sessions of 50, some
 * pushes reset by the client, some sessions torn down mid-flight, some pushes cancelled by
 * pushTimeout: the server must hold nothing afterwards. Run in a child process with
 * --expose-gc; it loads the built package, as `npm run bench` does. The long run (4,000
 * requests, and whether the heap grows) is part of `npm run bench`.
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
}

t.test('no session, stream, timer or socket left after 600 requests with pushes', async (t) => {
  const script = join(__dirname, '..', 'bench', 'push-soak.mjs')
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', script, '600', '300'], {
    // Fastify's default http2SessionTimeout: Node holds closed sessions until their idle timer fires,
    // and whatever the plugin keeps per session must not live that long.
    env: uncoveredChildEnv({ SLOW_MS: '80', PUSH_TIMEOUT_MS: '50', SESSION_TIMEOUT_MS: '72000' })
  })
  const result = JSON.parse(stdout) as SoakResult
  t.ok(result.measured.pushes > result.measured.requests, `${result.measured.pushes} pushes for ${result.measured.requests} requests`)
  t.equal(result.after.openSessions, 0)
  t.equal(result.after.openStreams, 0)
  // PipeWrap: the child's own stdout and stderr, piped to this process.
  const { PipeWrap: _stdio, ...resources } = result.after.resources
  t.same(resources, { TCPServerWrap: 1 }, 'no timer, socket or session handle left: only the listening server')
})
