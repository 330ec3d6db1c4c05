// @ts-check
// Part "memory": the heap of a plugin server (book, 10 relations) after GC, after a first
// batch of requests and after ten times as many. `node bench/run.mjs memory`.
import { fmt, loadRequests, MB, progress, settings, startServer } from '../runner.mjs'

/** "A few MB": the heap may move by this much between the two counts. */
const TOLERANCE = 3 * MB

export async function runMemory () {
  const [first = 20_000, total = 200_000] = settings.memoryRequests
  const server = await startServer('plugin-book')
  try {
    const start = await server.stats(true)
    progress(`memory: ${first} requests of the plugin's book route...`)
    await loadRequests(server.port, '/books/1', first)
    const early = await server.stats(true)
    progress(`memory: ${total - first} more...`)
    await loadRequests(server.port, '/books/1', total - first)
    const late = await server.stats(true)
    const delta = late.heapUsed - early.heapUsed
    const verdict = `heap after ${total.toLocaleString('en')} requests within ${TOLERANCE / MB} MB of after ${first.toLocaleString('en')}: ` +
      `${delta >= 0 ? '+' : ''}${(delta / MB).toFixed(2)} MB, ${Math.abs(delta) <= TOLERANCE ? 'holds' : 'MISSED'}`
    const text = [
      '\n## Memory: heap after GC of a plugin server (book, 10 relations)\n',
      `at start ${fmt.mb(start.heapUsed)}, after ${first.toLocaleString('en')} requests ${fmt.mb(early.heapUsed)}, ` +
        `after ${total.toLocaleString('en')} ${fmt.mb(late.heapUsed)}; rss ${fmt.mb(early.rss)} -> ${fmt.mb(late.rss)}`,
      verdict
    ].join('\n')
    return { text, targets: [verdict], raw: { first, total, start, early, late } }
  } finally {
    await server.stop()
  }
}
