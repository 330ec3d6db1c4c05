// @ts-check
// The clients of the latency part ("does preloading pay?"): the ways a client can get a book
// and its related resources, timed from before the connection is opened to the last byte of
// the last resource. Run through bench/delay-proxy.mjs, which gives loopback a round-trip time.
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
 * Where an HTTP/2 client finds the related resources:
 * - `body`: in the body, once it is read and parsed (`relationsOf`): no `Link`, no push;
 * - `link`: in the response's `Link` header, as soon as the headers arrive, before the body;
 * - `hints`: in a 103 Early Hints response first, then in the final `Link` for anything new.
 * @typedef {'body' | 'link' | 'hints'} Discovery
 */

/**
 * HTTP/2 on one connection: the client requests `path`, finds the related resources
 * (`discovery`) and requests them all at once. With `push`, the client allows server push:
 * a resource already promised by a push, or marked `nopush` in a `Link` (the plugin marks
 * what it pushed), is read from its pushed stream instead of being requested.
 * @param {number} port
 * @param {string} path
 * @param {{ push: boolean, discovery: Discovery, relationsOf?: (body: unknown) => string[] }} options
 * @returns {Promise<FetchResult>}
 */
export async function fetchHttp2 (port, path, options) {
  const start = performance.now()
  const session = http2.connect(`http://127.0.0.1:${port}`, { settings: { enablePush: options.push } })
  session.on('error', () => {})
  /** @type {Map<string, Promise<void>>} */
  const pushes = new Map()
  /** @type {Map<string, () => void>} */
  const waiting = new Map()
  session.on('stream', (stream, headers) => {
    const pushedPath = String(headers[':path'])
    pushes.set(pushedPath, readToEnd(stream, pushedPath))
    waiting.get(pushedPath)?.()
  })
  /** Resolves when the pushed resource `target` is read, whether its promise came yet or not. */
  const pushedResource = (/** @type {string} */ target) => pushes.get(target) ?? new Promise(
    /** @param {(value: void) => void} resolve */
    (resolve, reject) => {
      waiting.set(target, () => { (/** @type {Promise<void>} */ (pushes.get(target))).then(resolve, reject) })
    })
  let requests = 1
  let pushed = 0
  /** @type {Set<string>} */
  const wanted = new Set()
  /** @type {Array<Promise<void>>} */
  const related = []
  /** @param {string} target @param {boolean} markedPushed */
  const want = (target, markedPushed) => {
    if (wanted.has(target)) return
    wanted.add(target)
    if (pushes.has(target) || markedPushed) {
      pushed++
      related.push(pushedResource(target))
    } else {
      requests++
      related.push(readToEnd(session.request({ ':path': target }), target))
    }
  }
  try {
    const body = await new Promise(
      /** @param {(value: string) => void} resolve */
      (resolve, reject) => {
        const request = session.request({ ':path': path })
        if (options.discovery === 'hints') {
          request.on('headers', (headers) => {
            if (Number(headers[':status']) === 103) for (const link of preloadLinks(headers.link)) want(link.path, link.pushed)
          })
        }
        let status = 0
        request.on('response', (headers) => {
          status = Number(headers[':status'])
          if (options.discovery !== 'body') for (const link of preloadLinks(headers.link)) want(link.path, link.pushed)
        })
        let text = ''
        request.setEncoding('utf8')
        request.on('data', (/** @type {string} */ chunk) => { text += chunk })
        request.on('end', () => {
          if (status === 200) resolve(text)
          else reject(new Error(`${path}: status ${status}`))
        })
        request.on('error', reject)
      })
    const document = JSON.parse(body)
    if (options.discovery === 'body') {
      if (options.relationsOf === undefined) throw new Error('body discovery needs relationsOf')
      for (const target of options.relationsOf(document)) want(target, false)
    }
    await Promise.all(related)
    return { ttlb: performance.now() - start, resources: 1 + related.length, requests, pushed, connections: 1 }
  } finally {
    session.close()
  }
}
