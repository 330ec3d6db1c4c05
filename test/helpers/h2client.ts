// A real HTTP/2 client (Node's http2.connect) that records the main response and every push.
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'

export interface PushedResponse {
  /** The promised request's headers (from PUSH_PROMISE). */
  request: IncomingHttpHeaders
  path: string
  status: number | undefined
  headers: IncomingHttpHeaders
  body: string
  /** RST_STREAM code when the stream was reset (by the server or by this client), else 0. */
  rstCode: number
  complete: boolean
}

export interface H2Response {
  status: number
  headers: IncomingHttpHeaders
  /** Headers of interim responses, e.g. 103 Early Hints. */
  informational: IncomingHttpHeaders[]
  body: string
  pushes: PushedResponse[]
}

export interface H2Client {
  session: ClientHttp2Session
  get (path: string, headers?: OutgoingHttpHeaders, options?: { resetPushes?: (path: string) => boolean }): Promise<H2Response>
  close (): Promise<void>
}

/** Connects to `origin` (h2c prior knowledge, or TLS for https:), with push allowed unless `enablePush` is false. */
export async function connect (origin: string, settings: http2.Settings = {}, options: http2.SecureClientSessionOptions = {}): Promise<H2Client> {
  const session = http2.connect(origin, { ...options, settings: { enablePush: true, ...settings } })
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => { resolve() })
    session.once('error', reject)
  })
  let collector: ((pushed: Promise<PushedResponse>) => void) | null = null
  let resetPushes: (path: string) => boolean = () => false
  session.on('stream', (stream, requestHeaders) => {
    const path = String(requestHeaders[':path'])
    const pushed: PushedResponse = { request: requestHeaders, path, status: undefined, headers: {}, body: '', rstCode: 0, complete: false }
    const done = new Promise<PushedResponse>((resolve) => {
      stream.on('push', (headers) => {
        pushed.status = Number(headers[':status'])
        pushed.headers = headers
      })
      stream.setEncoding('utf8')
      stream.on('data', (chunk: string) => { pushed.body += chunk })
      stream.on('end', () => { pushed.complete = true })
      stream.on('error', () => {})
      stream.on('close', () => {
        pushed.rstCode = stream.rstCode ?? 0
        resolve(pushed)
      })
    })
    if (resetPushes(path)) stream.close(http2.constants.NGHTTP2_CANCEL)
    collector?.(done)
  })

  async function get (path: string, headers: OutgoingHttpHeaders = {}, options: { resetPushes?: (path: string) => boolean } = {}): Promise<H2Response> {
    const pushes: Array<Promise<PushedResponse>> = []
    collector = (pushed) => { pushes.push(pushed) }
    resetPushes = options.resetPushes ?? (() => false)
    const request = session.request({ ':path': path, ...headers })
    const informational: IncomingHttpHeaders[] = []
    request.on('headers', (interim) => { informational.push(interim) })
    const response = await new Promise<{ headers: IncomingHttpHeaders, body: string }>((resolve, reject) => {
      let body = ''
      let responseHeaders: IncomingHttpHeaders = {}
      request.setEncoding('utf8')
      request.on('response', (received) => { responseHeaders = received })
      request.on('data', (chunk: string) => { body += chunk })
      request.on('end', () => { resolve({ headers: responseHeaders, body }) })
      request.on('error', reject)
    })
    const settled = await Promise.all(pushes)
    collector = null
    return { status: Number(response.headers[':status']), headers: response.headers, informational, body: response.body, pushes: settled }
  }

  async function close (): Promise<void> {
    if (session.closed) return
    await new Promise<void>((resolve) => { session.close(resolve) })
  }

  return { session, get, close }
}
