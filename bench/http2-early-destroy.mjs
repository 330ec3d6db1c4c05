// Does this Node version leave HTTP/2 server sessions open when clients destroy theirs 0 to
// 20 ms after connecting? Node's http2 only, no Fastify, no plugin: a plain h2c server on the
// loopback, and ATTEMPTS client sessions (CONCURRENCY at a time), each ended a random 0-20 ms
// after its TCP connection is up, some during the HTTP/2 handshake, some while a request is in
// flight. MODE `session`
// ends them with `session.destroy()`; `socket` destroys the TCP socket under the session (a
// client that vanishes); `mixed` alternates.
//
//   node bench/http2-early-destroy.mjs [ATTEMPTS=7000] [CONCURRENCY=20] [GRACE_MS=2000] [MODE=mixed]
//
// After the last client is gone and GRACE_MS more, it counts the server sessions that have not
// emitted 'close' (`leftOpen`: each keeps its socket, and makes `server.close()` wait), and again
// 5 x GRACE_MS later (`stillOpen`: the ones that never close), prints one JSON line, destroys
// them and exits. Exit code 0 either way: it reports, it does not judge.
import http2 from 'node:http2'
import net from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'

const attempts = Number(process.argv[2] ?? 7000)
const concurrency = Number(process.argv[3] ?? 20)
const graceMs = Number(process.argv[4] ?? 2000)
const mode = process.argv[5] ?? 'mixed'

const server = http2.createServer()
const open = new Set()
let sessions = 0
server.on('session', (session) => {
  sessions++
  open.add(session)
  session.on('close', () => open.delete(session))
  session.on('error', () => {})
})
server.on('stream', (stream) => {
  stream.on('error', () => {})
  stream.respond({ ':status': 200 })
  stream.end('ok')
})
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port
const url = `http://127.0.0.1:${port}`

/**
 * One client session, ended after 0 to 20 ms, with a request in flight half of the time.
 * @param {number} index
 */
async function attempt (index) {
  // Our own socket: Node forbids touching the one under a session.
  const socket = net.connect(port, '127.0.0.1')
  const session = http2.connect(url, { createConnection: () => socket })
  session.on('error', () => {})
  socket.on('error', () => {})
  if (Math.random() < 0.5) {
    const request = session.request({ ':path': '/' })
    request.on('error', () => {})
    request.resume()
  }
  if (socket.connecting) await Promise.race([once(socket, 'connect'), once(socket, 'close')])
  await sleep(Math.floor(Math.random() * 21))
  if (mode === 'socket' || (mode === 'mixed' && index % 2 === 1)) socket.destroy()
  session.destroy()
  if (!session.closed) await once(session, 'close')
}

const started = Date.now()
let next = 0
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < attempts) {
    await attempt(next++)
  }
}))
await sleep(graceMs)

const leftOpen = open.size
await sleep(graceMs * 5)
const stillOpen = open.size
const closed = new Promise((resolve) => server.close(resolve))
for (const session of open) session.destroy()
await closed

console.log(JSON.stringify({
  node: process.version,
  attempts,
  mode,
  serverSessions: sessions,
  leftOpen,
  stillOpen,
  graceMs,
  seconds: Math.round((Date.now() - started) / 100) / 10
}))
