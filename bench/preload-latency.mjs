// @ts-check
// "Does preloading pay?": the three ways a client can get a book and its related resources,
// timed from before the connection is opened to the last byte of the last resource. Run
// through bench/delay-proxy.mjs, which gives loopback a real round-trip time.
import http from 'node:http'
import http2 from 'node:http2'
import { performance } from 'node:perf_hooks'

/**
 * @typedef {object} FetchResult
 * @property {number} ttlb ms from the start to the last byte of the last resource
 * @property {number} resources resources received, the book included
 * @property {number} requests requests the client sent, the book included
 * @property {number} pushed resources the server pushed
 * @property {number} connections TCP connections opened
 */

/**
 * The targets of the preload entries of a `Link` header, and whether each was pushed (the
 * plugin marks pushed links `nopush`, so that nobody pushes them again).
 * @param {string | string[] | undefined} header
 * @returns {Array<{ path: string, pushed: boolean }>}
 */
export function preloadLinks (header) {
  const value = Array.isArray(header) ? header.join(', ') : header ?? ''
  /** @type {Array<{ path: string, pushed: boolean }>} */
  const links = []
  for (const match of value.matchAll(/<([^>]*)>([^,]*)/g)) {
    const [, path = '', params = ''] = match
    if (/;\s*rel=preload\b/.test(params)) links.push({ path, pushed: /;\s*nopush\b/.test(params) })
  }
  return links
}

/**
 * HTTP/1.1, one by one: the book, then each related resource in turn, on one keep-alive
 * connection (what a client that does not look at preload links, or has one connection, does).
 * @param {number} port
 * @param {string} path
 * @returns {Promise<FetchResult>}
 */
export async function fetchHttp1 (port, path) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set()
  const start = performance.now()
  /** @param {string} target */
  const get = (target) => new Promise(
    /** @param {(value: { headers: http.IncomingHttpHeaders, body: string }) => void} resolve */
    (resolve, reject) => {
      const request = http.get({ host: '127.0.0.1', port, path: target, agent }, (response) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk) => { body += chunk })
        response.on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`GET ${target}: ${response.statusCode}`))
          else resolve({ headers: response.headers, body })
        })
      })
      request.on('socket', (socket) => {
        if (sockets.has(socket)) return
        sockets.add(socket)
        socket.setNoDelay(true)
      })
      request.on('error', reject)
    })
  try {
    const book = await get(path)
    JSON.parse(book.body)
    const links = preloadLinks(book.headers.link)
    for (const link of links) JSON.parse((await get(link.path)).body)
    return { ttlb: performance.now() - start, resources: 1 + links.length, requests: 1 + links.length, pushed: 0, connections: sockets.size }
  } finally {
    agent.destroy()
  }
}

/**
 * Reads a stream to its end.
 * @param {http2.ClientHttp2Stream} stream
 * @param {string} path
 * @returns {Promise<void>}
 */
function readToEnd (stream, path) {
  return new Promise((resolve, reject) => {
    let status = 0
    stream.on('response', (headers) => { status = Number(headers[':status']) })
    stream.on('push', (headers) => { status = Number(headers[':status']) })
    stream.on('data', () => {})
    stream.on('end', () => {
      if (status === 200) resolve()
      else reject(new Error(`${path}: status ${status}`))
    })
    stream.on('error', reject)
  })
}

/**
 * HTTP/2 on one connection. The client requests the book, and starts the related requests as
 * soon as the response's headers arrive, from its `Link` header, before the body is read. With
 * `push`, the client allows server push: links the server pushed (marked `nopush`) are not
 * requested, their pushed streams are read instead.
 * @param {number} port
 * @param {string} path
 * @param {boolean} push
 * @returns {Promise<FetchResult>}
 */
export async function fetchHttp2 (port, path, push) {
  const start = performance.now()
  const session = http2.connect(`http://127.0.0.1:${port}`, { settings: { enablePush: push } })
  session.on('error', () => {})
  /** @type {Map<string, Promise<void>>} */
  const pushes = new Map()
  /** @type {Map<string, (stream: http2.ClientHttp2Stream) => void>} */
  const waiting = new Map()
  session.on('stream', (stream, headers) => {
    const pushedPath = String(headers[':path'])
    pushes.set(pushedPath, readToEnd(stream, pushedPath))
    waiting.get(pushedPath)?.(stream)
  })
  /** Resolves when the pushed resource `target` is read, whether its promise came yet or not. */
  const pushedResource = (/** @type {string} */ target) => pushes.get(target) ?? new Promise(
    /** @param {(value: void) => void} resolve */
    (resolve, reject) => {
      waiting.set(target, () => { (/** @type {Promise<void>} */ (pushes.get(target))).then(resolve, reject) })
    })
  try {
    let requests = 1
    let pushed = 0
    const related = await new Promise(
      /** @param {(value: Promise<void[]>) => void} resolve */
      (resolve, reject) => {
        const request = session.request({ ':path': path })
        /** @type {Array<Promise<void>>} */
        const all = [readToEnd(request, path)]
        request.on('response', (headers) => {
          for (const link of preloadLinks(headers.link)) {
            if (link.pushed) {
              pushed++
              all.push(pushedResource(link.path))
            } else {
              requests++
              all.push(readToEnd(session.request({ ':path': link.path }), link.path))
            }
          }
          resolve(Promise.all(all))
        })
        request.on('error', reject)
      })
    const done = await related
    return { ttlb: performance.now() - start, resources: done.length, requests, pushed, connections: 1 }
  } finally {
    session.close()
  }
}
