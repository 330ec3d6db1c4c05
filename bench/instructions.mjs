// @ts-check
// Instructions per request, for machines whose CPU time is too noisy to compare a few
// microseconds: `valgrind --tool=callgrind` counts the instructions a process runs, the same
// for the same work whatever else the machine does. One process serves one scenario and sends
// itself N requests over one keep-alive connection (a raw socket, so the client's own cost is
// small and the same in every scenario); run it twice with different N and take the
// difference, and startup falls out:
//
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p node --single-threaded bench/instructions.mjs plugin-book 2000
//   callgrind_annotate /tmp/cg.<pid> | head     (the total: "PROGRAM TOTALS")
//
// `node bench/instructions.mjs <scenario> <requests>` without valgrind runs the same requests
// and checks their responses. Build first (`npm run build`): the apps load dist/.
import { connect } from 'node:net'
import { buildApp, isScenario } from './apps.mjs'

const [scenario = '', countArg = '1000', path = '/books/1'] = process.argv.slice(2)
if (!isScenario(scenario)) {
  console.error(`usage: node bench/instructions.mjs <scenario> <requests> [path]; unknown scenario "${scenario}"`)
  process.exit(2)
}
const count = Number(countArg)
const app = await buildApp(scenario, {})
await app.listen({ host: '127.0.0.1', port: 0 })
const { port } = /** @type {import('node:net').AddressInfo} */ (app.server.address())

const socket = connect(port, '127.0.0.1')
await new Promise((resolve) => socket.once('connect', resolve))
const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`
let received = ''
let done = 0
let firstHead = ''
await new Promise((resolve, reject) => {
  socket.on('error', reject)
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1')
    // Responses carry Content-Length: split them off one by one, and send the next request.
    for (;;) {
      const end = received.indexOf('\r\n\r\n')
      if (end === -1) return
      const length = Number(/content-length: (\d+)/i.exec(received.slice(0, end))?.[1] ?? 0)
      if (received.length < end + 4 + length) return
      if (done === 0) firstHead = received.slice(0, end)
      received = received.slice(end + 4 + length)
      if (++done === count) {
        resolve(undefined)
        return
      }
      socket.write(request)
    }
  })
  socket.write(request)
})
socket.destroy()
await app.close()
console.error(`${scenario}: ${done} responses; the first: ${firstHead.split('\r\n')[0]}, link: ${/\r\nlink: /i.test(firstHead) ? 'yes' : 'no'}`)
