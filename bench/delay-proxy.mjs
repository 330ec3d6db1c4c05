// @ts-check
// A TCP proxy that gives loopback a round-trip time: `node bench/delay-proxy.mjs <targetPort> <rttMs>`.
//
// Used by the preload latency benchmark where `tc netem` is not available (this kernel has no
// sch_netem). Every chunk is held for half the RTT in each direction, in order. A TCP handshake
// costs one RTT before the client's first byte can leave: the proxy accepts at once on
// loopback, so the client's data of a new connection is held one extra RTT instead, which is
// when it would have been sent over a real link. What it does not model: bandwidth, loss, and
// TCP slow start (with a 14.6 KB initial window the responses of the benchmark fit the first
// flight anyway).
//
// Started by bench/run.mjs with an IPC channel: reports `{ type: 'ready', port }`, and stops on
// `{ type: 'close' }` or when the runner goes away.
import net from 'node:net'
import { performance } from 'node:perf_hooks'

const [targetArg = '', rttArg = '50'] = process.argv.slice(2)
const target = Number(targetArg)
const rtt = Number(rttArg)
if (!Number.isInteger(target) || target <= 0 || !(rtt >= 0)) {
  console.error('usage: node bench/delay-proxy.mjs <targetPort> <rttMs>')
  process.exit(2)
}

/**
 * One direction of a connection: chunks leave `delay` ms after they came, never before `notBefore`.
 * @param {net.Socket} from
 * @param {net.Socket} to
 * @param {number} delay
 * @param {number} notBefore
 */
function pipeDelayed (from, to, delay, notBefore) {
  /** @type {Array<{ due: number, chunk: Buffer | null }>} */
  const queue = []
  /** @type {NodeJS.Timeout | null} */
  let timer = null
  let lastDue = 0

  function drain () {
    timer = null
    const now = performance.now()
    while (queue.length > 0 && (queue[0]?.due ?? Infinity) <= now + 0.5) {
      const item = /** @type {{ due: number, chunk: Buffer | null }} */ (queue.shift())
      if (to.destroyed) return
      if (item.chunk === null) to.end()
      else to.write(item.chunk)
    }
    schedule()
  }

  function schedule () {
    const head = queue[0]
    if (timer !== null || head === undefined) return
    timer = setTimeout(drain, Math.max(0, head.due - performance.now()))
  }

  /** @param {Buffer | null} chunk null for the end of the stream */
  function enqueue (chunk) {
    // Order is kept: a chunk never leaves before the one that came before it.
    const due = Math.max(performance.now(), notBefore) + delay
    lastDue = Math.max(lastDue, due)
    queue.push({ due: lastDue, chunk })
    schedule()
  }

  let ended = false
  function end () {
    if (ended) return
    ended = true
    enqueue(null)
  }
  from.on('data', enqueue)
  from.on('end', end)
  // Closed without an end (destroyed): what is queued still goes out, then the other side ends.
  from.on('close', end)
}

/** Open connections, to close them on exit. */
const sockets = new Set()

const server = net.createServer({ noDelay: true }, (client) => {
  const accepted = performance.now()
  const upstream = net.connect({ host: '127.0.0.1', port: target, noDelay: true })
  sockets.add(client)
  sockets.add(upstream)
  for (const socket of [client, upstream]) {
    socket.on('error', () => { client.destroy(); upstream.destroy() })
    socket.on('close', () => { sockets.delete(socket) })
  }
  // Client to server: the handshake's round trip first, then half a round trip.
  pipeDelayed(client, upstream, rtt / 2, accepted + rtt)
  pipeDelayed(upstream, client, rtt / 2, 0)
})

server.listen(0, '127.0.0.1', () => {
  const { port } = /** @type {net.AddressInfo} */ (server.address())
  if (process.send === undefined) console.log(`127.0.0.1:${port} -> 127.0.0.1:${target}, RTT ${rtt} ms`)
  else process.send({ type: 'ready', port, pid: process.pid })
})

function stop () {
  server.close()
  for (const socket of sockets) socket.destroy()
  process.exit(0)
}
process.on('message', (/** @type {{ type: string }} */ message) => { if (message.type === 'close') stop() })
process.on('disconnect', stop)
process.once('SIGINT', stop)
