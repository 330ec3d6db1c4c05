// @ts-check
// One benchmark server: `node --expose-gc bench/server.mjs <scenario> <port> [bodySize]`.
// Started by bench/run.mjs with an IPC channel (child_process.fork): it reports its port once
// listening, and answers `{ type: 'stats' }` with its heap after GC and its CPU time, and
// `{ type: 'close' }` by closing and exiting (so that `--cpu-prof` writes its profile).
// Without a parent (run by hand), it just serves until Ctrl+C.
import { buildApp, isScenario } from './apps.mjs'

/**
 * @typedef {{ type: 'ready', port: number, pid: number }
 *   | { type: 'stats', heapUsed: number, rss: number, cpuMicros: number }} ServerMessage
 * @typedef {{ type: 'stats', gc?: boolean } | { type: 'close' }} ParentMessage
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
