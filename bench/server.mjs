// @ts-check
// One benchmark server: `node --expose-gc bench/server.mjs <scenario> <port> [bodySize]`.
// Started by bench/run.mjs with an IPC channel (child_process.fork): it reports its port once
// listening, and answers `{ type: 'stats' }` with its heap after GC and its CPU time, and
// `{ type: 'close' }` by closing and exiting, and `{ type: 'profile', file }` by starting a
// CPU profile (inspector), then writing it to `file` at the next `profile` message: only the
// load is profiled, not the startup.
// Without a parent (run by hand), it just serves until Ctrl+C.
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { buildApp, isScenario } from './apps.mjs'

/**
 * @typedef {{ type: 'ready', port: number, pid: number }
 *   | { type: 'stats', heapUsed: number, rss: number, cpuMicros: number }
 *   | { type: 'profile', started: boolean }} ServerMessage
 * @typedef {{ type: 'stats', gc?: boolean } | { type: 'close' } | { type: 'profile', file: string }} ParentMessage
 */

const [scenario = '', portArg = '0', sizeArg] = process.argv.slice(2)
if (!isScenario(scenario)) {
  console.error(`usage: node bench/server.mjs <scenario> <port> [bodySize]; unknown scenario "${scenario}"`)
  process.exit(2)
}

const app = await buildApp(scenario, sizeArg === undefined ? {} : { size: Number(sizeArg) })
await app.listen({ host: '127.0.0.1', port: Number(portArg) })
const address = /** @type {import('node:net').AddressInfo} */ (app.server.address())

/** @param {ServerMessage} message */
function send (message) {
  process.send?.(message)
}

/** @type {Session | null} */
let profiler = null

/**
 * Starts the CPU profiler (returns true), or stops it and writes its profile to `file` (false).
 * @param {string} file
 */
async function profile (file) {
  if (profiler === null) {
    profiler = new Session()
    profiler.connect()
    await profiler.post('Profiler.enable')
    await profiler.post('Profiler.start')
    return true
  }
  const { profile: data } = await profiler.post('Profiler.stop')
  profiler.disconnect()
  profiler = null
  await writeFile(file, JSON.stringify(data))
  return false
}

async function close () {
  await app.close()
  process.exit(0)
}

if (process.send === undefined) {
  console.log(`${scenario} listening on http://127.0.0.1:${address.port}`)
  process.once('SIGINT', () => { close().catch(() => process.exit(1)) })
} else {
  process.on('message', (/** @type {ParentMessage} */ message) => {
    if (message.type === 'close') {
      close().catch(() => process.exit(1))
      return
    }
    if (message.type === 'profile') {
      profile(message.file).then((started) => { send({ type: 'profile', started }) }, (error) => { throw error })
      return
    }
    if (message.gc === true) {
      const gc = /** @type {(() => void) | undefined} */ (globalThis.gc)
      if (gc === undefined) throw new Error('bench/server.mjs: heap figures need --expose-gc')
      // Several passes: the first one may only promote what the young generation held.
      for (let i = 0; i < 4; i++) gc()
    }
    const usage = process.cpuUsage()
    const memory = process.memoryUsage()
    send({ type: 'stats', heapUsed: memory.heapUsed, rss: memory.rss, cpuMicros: usage.user + usage.system })
  })
  // The runner is gone (it crashed, or was stopped): do not outlive it.
  process.on('disconnect', () => { close().catch(() => process.exit(1)) })
  send({ type: 'ready', port: address.port, pid: process.pid })
}
