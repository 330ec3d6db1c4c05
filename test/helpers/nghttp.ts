// Drive `nghttp` (nghttp2-client) and read what really happened on the wire from its
// verbose trace. nghttp exits 0 even when requests time out or streams are reset, so
// tests must assert on the parsed trace, never on the exit code.
import { spawn } from 'node:child_process'

export type Headers = Record<string, string>

export interface InterimResponse {
  status: number
  headers: Headers
  /** seconds since connect, as printed by nghttp */
  at: number
}

export interface NghttpRequest {
  streamId: number
  method: string
  path: string
  /** final (>= 200) status, null if none arrived */
  status: number | null
  /** 1xx responses (e.g. 103 Early Hints) in arrival order */
  interim: InterimResponse[]
  /** final response headers, pseudo-headers excluded; repeated fields joined with ', ' */
  headers: Headers
  trailers: Headers
  /** when the final response headers arrived (seconds since connect) */
  at: number | null
  /** END_STREAM received: the response is complete */
  endStream: boolean
  /** sum of the DATA frame lengths */
  bodyBytes: number
  /** RST_STREAM error code, if the stream was reset (either direction) */
  reset: string | null
  /** paths of the PUSH_PROMISEs that arrived on this stream */
  promised: string[]
}

export interface NghttpPush {
  promisedStreamId: number
  /** the stream the PUSH_PROMISE frame arrived on */
  associatedStreamId: number
  method: string
  path: string
  authority: string
  /** the promised request's headers, pseudo-headers excluded */
  requestHeaders: Headers
  /** when the PUSH_PROMISE arrived (seconds since connect) */
  promisedAt: number
  status: number | null
  headers: Headers
  endStream: boolean
  bodyBytes: number
  reset: string | null
}

export interface NghttpRstStream {
  direction: 'send' | 'recv'
  streamId: number
  errorCode: string
  at: number
}

export interface NghttpGoaway {
  direction: 'send' | 'recv'
  lastStreamId: number
  errorCode: string
  at: number
}

export interface NghttpResult {
  requests: NghttpRequest[]
  pushes: NghttpPush[]
  /** promised paths, in PUSH_PROMISE order */
  promised: string[]
  /** promised paths whose pushed response completed (a final status and END_STREAM) */
  pushed: string[]
  rstStreams: NghttpRstStream[]
  goaways: NghttpGoaway[]
  /** lines that are not part of a frame trace, e.g. `[ERROR] Timeout` */
  messages: string[]
}

export interface NghttpOptions {
  /** request headers, sent with every request */
  headers?: Record<string, string>
  /** nghttp's own timeout (default 5000 ms; 0 disables it) */
  timeoutMs?: number
  /** safety net: SIGKILL nghttp after this long (default timeoutMs + 2000) */
  killAfterMs?: number
  /** SETTINGS_MAX_CONCURRENT_STREAMS the client advertises: the number of pushes it accepts */
  maxConcurrentStreams?: number
  /** SETTINGS_ENABLE_PUSH=0, as browsers send */
  noPush?: boolean
}

export interface NghttpRun extends NghttpResult {
  /** stdout and stderr, interleaved as they arrived */
  trace: string
  exitCode: number | null
  /** true when nghttp was still running after killAfterMs and got SIGKILL */
  killed: boolean
}

// --- parser ---------------------------------------------------------------------------

// "[  0.027] recv HEADERS frame <length=86, flags=0x04, stream_id=13>"
const FRAME = /^\[\s*([\d.]+)\] (send|recv) (\w+) frame <length=(\d+), flags=0x([0-9a-f]+), stream_id=(\d+)>/
// "[  0.027] recv (stream_id=13) :status: 200" (header fields come BEFORE their frame line)
const FIELD = /^\[\s*([\d.]+)\] recv \(stream_id=(\d+)\) (:?[^:]+): ?(.*)$/
// continuation lines of a frame are indented; request fields we send look like "  :path: /x"
const INDENTED_FIELD = /^\s+(:?[^:\s]+): ?(.*)$/
const END_STREAM = 0x1

interface Block {
  at: number
  direction: 'send' | 'recv'
  type: string
  length: number
  flags: number
  streamId: number
  detail: string[]
}

type Field = [name: string, value: string]

function fieldsToHeaders (fields: Field[]): Headers {
  const headers: Headers = {}
  for (const [name, value] of fields) {
    if (name.startsWith(':')) continue
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value
  }
  return headers
}

function pseudo (fields: Field[], name: string): string {
  return fields.find(([n]) => n === name)?.[1] ?? ''
}

function detailValue (block: Block, key: string): string | undefined {
  for (const line of block.detail) {
    const m = new RegExp(`\\b${key}=([^,)]+)`).exec(line)
    if (m !== null) return m[1]
  }
  return undefined
}

// "error_code=PROTOCOL_ERROR(0x01)" -> "PROTOCOL_ERROR"
function errorCode (block: Block): string {
  return (detailValue(block, 'error_code') ?? 'UNKNOWN').replace(/\(.*$/, '')
}

class TraceState {
  readonly requests = new Map<number, NghttpRequest>()
  readonly pushes = new Map<number, NghttpPush>()
  readonly rstStreams: NghttpRstStream[] = []
  readonly goaways: NghttpGoaway[] = []
  readonly messages: string[] = []
  private readonly pending = new Map<number, Field[]>()

  field (streamId: number, name: string, value: string): void {
    const list = this.pending.get(streamId) ?? []
    list.push([name, value])
    this.pending.set(streamId, list)
  }

  private take (streamId: number): Field[] {
    const fields = this.pending.get(streamId) ?? []
    this.pending.delete(streamId)
    return fields
  }

  frame (b: Block): void {
    if (b.direction === 'send' && b.type === 'HEADERS') this.sentHeaders(b)
    else if (b.direction === 'recv' && b.type === 'PUSH_PROMISE') this.pushPromise(b)
    else if (b.direction === 'recv' && b.type === 'HEADERS') this.recvHeaders(b)
    else if (b.direction === 'recv' && b.type === 'DATA') this.recvData(b)
    else if (b.type === 'RST_STREAM') this.rstStream(b)
    else if (b.type === 'GOAWAY') this.goaways.push({ direction: b.direction, lastStreamId: Number(detailValue(b, 'last_stream_id')), errorCode: errorCode(b), at: b.at })
  }

  private sentHeaders (b: Block): void {
    const fields: Field[] = []
    for (const line of b.detail) {
      const m = INDENTED_FIELD.exec(line)
      if (m !== null) fields.push([m[1] as string, m[2] as string])
    }
    this.requests.set(b.streamId, {
      streamId: b.streamId,
      method: pseudo(fields, ':method'),
      path: pseudo(fields, ':path'),
      status: null,
      interim: [],
      headers: {},
      trailers: {},
      at: null,
      endStream: false, // our own END_STREAM (request without body) says nothing about the response
      bodyBytes: 0,
      reset: null,
      promised: []
    })
  }

  private pushPromise (b: Block): void {
    // the promised request's fields were printed under the associated stream's id
    const fields = this.take(b.streamId)
    const promisedStreamId = Number(detailValue(b, 'promised_stream_id'))
    const path = pseudo(fields, ':path')
    this.requests.get(b.streamId)?.promised.push(path)
    this.pushes.set(promisedStreamId, {
      promisedStreamId,
      associatedStreamId: b.streamId,
      method: pseudo(fields, ':method'),
      path,
      authority: pseudo(fields, ':authority'),
      requestHeaders: fieldsToHeaders(fields),
      promisedAt: b.at,
      status: null,
      headers: {},
      endStream: false,
      bodyBytes: 0,
      reset: null
    })
  }

  private recvHeaders (b: Block): void {
    const fields = this.take(b.streamId)
    const endStream = (b.flags & END_STREAM) !== 0
    const statusText = pseudo(fields, ':status')
    const status = statusText === '' ? null : Number(statusText)
    const push = this.pushes.get(b.streamId)
    if (push !== undefined) {
      if (status !== null && status >= 200) {
        push.status = status
        push.headers = fieldsToHeaders(fields)
      }
      push.endStream ||= endStream
      return
    }
    const req = this.requests.get(b.streamId)
    if (req === undefined) return
    if (status === null) Object.assign(req.trailers, fieldsToHeaders(fields))
    else if (status < 200) req.interim.push({ status, headers: fieldsToHeaders(fields), at: b.at })
    else {
      req.status = status
      req.headers = fieldsToHeaders(fields)
      req.at = b.at
    }
    req.endStream ||= endStream
  }

  private recvData (b: Block): void {
    const stream = this.pushes.get(b.streamId) ?? this.requests.get(b.streamId)
    if (stream === undefined) return
    stream.bodyBytes += b.length
    stream.endStream ||= (b.flags & END_STREAM) !== 0
  }

  private rstStream (b: Block): void {
    const code = errorCode(b)
    this.rstStreams.push({ direction: b.direction, streamId: b.streamId, errorCode: code, at: b.at })
    const stream = this.pushes.get(b.streamId) ?? this.requests.get(b.streamId)
    if (stream !== undefined) stream.reset = code
  }

  result (): NghttpResult {
    const pushes = [...this.pushes.values()]
    return {
      requests: [...this.requests.values()],
      pushes,
      promised: pushes.map(p => p.path),
      pushed: pushes.filter(p => p.endStream && p.status !== null && p.reset === null).map(p => p.path),
      rstStreams: this.rstStreams,
      goaways: this.goaways,
      messages: this.messages
    }
  }
}

/** Parse the output of `nghttp -nv` (pure: no I/O), e.g. on a captured fixture. */
export function parseNghttpTrace (text: string): NghttpResult {
  const state = new TraceState()
  let block: Block | undefined
  const flush = (): void => {
    if (block !== undefined) state.frame(block)
    block = undefined
  }
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue
    if (/^\s/.test(line)) { // detail line of the current frame
      block?.detail.push(line)
      continue
    }
    flush()
    const frame = FRAME.exec(line)
    if (frame !== null) {
      block = {
        at: Number(frame[1]),
        direction: frame[2] as 'send' | 'recv',
        type: frame[3] as string,
        length: Number(frame[4]),
        flags: parseInt(frame[5] as string, 16),
        streamId: Number(frame[6]),
        detail: []
      }
      continue
    }
    const field = FIELD.exec(line)
    if (field !== null) state.field(Number(field[2]), field[3] as string, field[4] as string)
    else if (!/^\[\s*[\d.]+\] Connected$/.test(line)) state.messages.push(line)
  }
  flush()
  return state.result()
}

// --- runner ---------------------------------------------------------------------------

export function nghttpArgs (urls: string[], options: NghttpOptions = {}): string[] {
  const timeoutMs = options.timeoutMs ?? 5000
  const args = ['-nv', `--timeout=${timeoutMs}ms`]
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push(`--header=${name}: ${value}`)
  if (options.maxConcurrentStreams !== undefined) args.push(`--max-concurrent-streams=${options.maxConcurrentStreams}`)
  if (options.noPush === true) args.push('--no-push')
  return [...args, ...urls]
}

/** Request all `urls` on ONE HTTP/2 connection (h2c prior knowledge for http:// URLs). */
export function nghttp (urls: string[], options: NghttpOptions = {}): Promise<NghttpRun> {
  const killAfterMs = options.killAfterMs ?? (options.timeoutMs ?? 5000) + 2000
  return new Promise((resolve, reject) => {
    const child = spawn('nghttp', nghttpArgs(urls, options), { stdio: ['ignore', 'pipe', 'pipe'] })
    const chunks: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => chunks.push(c))
    child.stderr.on('data', (c: Buffer) => chunks.push(c))
    let killed = false
    // safety net: nghttp's own --timeout normally ends it first
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL') }, killAfterMs)
    child.once('error', err => { clearTimeout(timer); reject(err) })
    child.once('close', exitCode => {
      clearTimeout(timer)
      const trace = Buffer.concat(chunks).toString('utf8')
      resolve({ ...parseNghttpTrace(trace), trace, exitCode, killed })
    })
  })
}
