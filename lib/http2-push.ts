import type { FastifyInstance, FastifyRequest, LightMyRequestResponse } from 'fastify'
import { constants, type Http2ServerRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2'
import type { ResolvedOptions } from './options.js'

/**
 * Native HTTP/2 server push: when Fastify itself speaks HTTP/2 and the client allows push, the
 * preload links are promised on the client's stream, and each promised stream is filled by a
 * `GET` dispatched through the same Fastify instance, so hooks, authentication, serializers
 * and this plugin run as for a direct request.
 */

/** Paths already promised on a connection: a resource is pushed at most once per session. */
const promisedBySession = new WeakMap<ServerHttp2Session, Set<string>>()
/** Bounds the memory a long-lived connection can make the plugin hold. */
export const MAX_PROMISED_PER_SESSION = 1000

/** The paths promised on a session so far (undefined once it closed); for tests and debugging. */
export function promisedPaths (session: ServerHttp2Session): ReadonlySet<string> | undefined {
  return promisedBySession.get(session)
}

/** Headers that describe a connection, not a message: HTTP/2 forbids them in a response. */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te'])

/** What a pushed response reports to the pusher of the next hop. */
export const kPushedLinks = Symbol('fastify-push-relations.pushed-links')

/** What a pushed response tells the next hop: its links, as the link set of its reply has them. */
export interface PushableLinks {
  /** Links that may be pushed (not marked `nopush`). */
  readonly pushable: readonly string[]
  /** True for links a Vulcain `Preload` selected: they are followed whatever `pushDepth` says. */
  isSelected (path: string): boolean
  /** The request headers a push of the path carries (the remaining Vulcain selectors). */
  pushHeadersOf (path: string): Record<string, string>
}

/** One resource to push. */
export interface PushTarget {
  readonly path: string
  /** Headers of the pushed request besides the forwarded ones (remaining Vulcain selectors). */
  readonly headers: Record<string, string>
  /** A Vulcain `Preload` selected it: its own selected links are pushed in turn. */
  readonly follow: boolean
  /**
   * The connection has the resource already, but not the next hop its remaining `Preload`
   * selects: the request is dispatched for its links only, and they are pushed.
   */
  readonly followOnly?: boolean
}

/** The targets of a link set, for the given paths. */
export function pushTargets (links: PushableLinks, paths: readonly string[]): PushTarget[] {
  return paths.map((path) => ({ path, headers: links.pushHeadersOf(path), follow: links.isSelected(path) }))
}

/**
 * Selected links the connection got before, whose remaining `Preload` it has not followed yet
 * (another book's `/author/publisher` after `/author`): their next hop still gets pushed.
 */
export function followTargets (links: PushableLinks, paths: readonly string[], state: PushState): PushTarget[] {
  const targets: PushTarget[] = []
  for (const path of paths) {
    const headers = links.pushHeadersOf(path)
    if (state.shouldFollow(path, headers.preload)) targets.push({ path, headers, follow: true, followOnly: true })
  }
  return targets
}

/** The pushes of one request: its stream, what this connection already got, what is left. */
export class PushState {
  /** Pushes still allowed for this request, all hops together. */
  remaining: number
  /** Pushes whose next hop is still being computed; the response waits for them (pushDepth > 1). */
  readonly pending: Array<Promise<void>> = []

  constructor (readonly stream: ServerHttp2Stream, private readonly promised: Set<string>, maxPushes: number) {
    this.remaining = maxPushes
    this.followsLeft = maxPushes
  }

  /** True when `path` was promised on this connection already. */
  wasPromised (path: string): boolean {
    return this.promised.has(path)
  }

  /** True when a push of `path` is allowed: budget left, and not on this connection yet. */
  canClaim (path: string): boolean {
    return this.remaining > 0 && !this.promised.has(path) && this.promised.size < MAX_PROMISED_PER_SESSION
  }

  /** Reserves a push of `path`; false when `canClaim` says no. */
  claim (path: string): boolean {
    if (!this.canClaim(path)) return false
    this.reserve(path)
    return true
  }

  /** Follow-only dispatches still allowed for this request (bounded like pushes). */
  private followsLeft: number

  /** Records that `path` was pushed with this remaining `Preload`, so a later one follows only what is new. */
  followed (path: string, preload: string | undefined): void {
    if (preload !== undefined && this.promised.size < MAX_PROMISED_PER_SESSION) this.promised.add(path + '\n' + preload)
  }

  /** True when the next hop of `path` under `preload` was not followed on this connection yet (and is recorded now). */
  shouldFollow (path: string, preload: string | undefined): boolean {
    if (preload === undefined || this.followsLeft <= 0 || this.promised.has(path + '\n' + preload) || this.promised.size >= MAX_PROMISED_PER_SESSION) return false
    this.followsLeft--
    this.promised.add(path + '\n' + preload)
    return true
  }

  /** Reserves a push of `path` that `canClaim` allowed. */
  reserve (path: string): void {
    this.promised.add(path)
    this.remaining--
  }
}

/**
 * The push state of a request, or null when nothing can be pushed: push is off, the request
 * is not a GET over HTTP/2 (HTTP/1.1, `allowHTTP1`, `inject`), or the client disabled push
 * (`SETTINGS_ENABLE_PUSH=0`, as every current browser does).
 */
export function pushStateOf (request: FastifyRequest, options: ResolvedOptions): PushState | null {
  if (!options.push || request.method !== 'GET') return null
  const stream = (request.raw as { stream?: Http2ServerRequest['stream'] }).stream
  if (stream === undefined || stream.destroyed || !stream.pushAllowed) return null
  const session = stream.session as ServerHttp2Session
  let promised = promisedBySession.get(session)
  if (promised === undefined) {
    promised = new Set()
    promisedBySession.set(session, promised)
    // Node keeps a closed session referenced from its idle timer until that fires (Fastify's
    // http2SessionTimeout, 72 s by default): let go of the paths as soon as it closes.
    session.once('close', () => { promisedBySession.delete(session) })
  }
  // The client has the resource it asked for: a self link is never pushed back.
  const path = request.url
  if (promised.size < MAX_PROMISED_PER_SESSION) promised.add(path)
  return new PushState(stream, promised, options.maxPushes)
}

/** The pushed request's headers: the client's own credentials and negotiation headers. */
function forwardedHeaders (request: FastifyRequest, names: readonly string[]): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {}
  for (const name of names) {
    const value = request.headers[name]
    if (value !== undefined) headers[name] = value
  }
  return headers
}

function responseHeaders (response: LightMyRequestResponse): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ':status': response.statusCode }
  for (const [name, value] of Object.entries(response.headers)) {
    if (!CONNECTION_HEADERS.has(name) && value !== undefined) headers[name] = value
  }
  return headers
}

function cancel (stream: ServerHttp2Stream): void {
  if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL)
}

export class Pusher {
  constructor (private readonly fastify: FastifyInstance, private readonly options: ResolvedOptions) {}

  /**
   * Promises each target on the request's stream now, and fills the pushed streams as their
   * responses come. With `hopsLeft > 1`, the links of each pushed response are pushed in
   * turn, from the same client stream (Node forbids pushes from a pushed stream); links a
   * Vulcain `Preload` selected are followed as deep as the selectors go.
   */
  push (state: PushState, request: FastifyRequest, targets: readonly PushTarget[], hopsLeft = this.options.pushDepth): void {
    const forwarded = forwardedHeaders(request, this.options.pushHeaders)
    for (const target of targets) {
      if (target.follow) state.followed(target.path, target.headers.preload)
      const job = this.pushOne(state, request, target, { ...forwarded, ...target.headers }, hopsLeft)
      if (hopsLeft > 1 || target.follow) state.pending.push(job)
    }
  }

  private pushOne (state: PushState, request: FastifyRequest, target: PushTarget, headers: IncomingHttpHeaders, hopsLeft: number): Promise<void> {
    const log = request.log
    const path = target.path
    if (target.followOnly === true) return this.fill(state, request, null, target, headers, hopsLeft)
    return new Promise((resolve) => {
      try {
        state.stream.pushStream({ ':method': 'GET', ':path': path, ...headers }, (error, pushStream) => {
          if (error !== null) {
            // ERR_HTTP2_OUT_OF_STREAMS, ERR_HTTP2_INVALID_STREAM (the client stream is gone)...
            log.debug({ err: error, path }, 'fastify-push-relations: push not promised')
            resolve()
            return
          }
          this.fill(state, request, pushStream, target, headers, hopsLeft).then(resolve, resolve)
        })
      } catch (error) {
        // Thrown synchronously: ERR_HTTP2_PUSH_DISABLED, ERR_HTTP2_NESTED_PUSH, a closed stream.
        log.debug({ err: error, path }, 'fastify-push-relations: push not promised')
        resolve()
      }
    })
  }

  /** Dispatches `GET path` through Fastify and writes the answer on the pushed stream. */
  private async fill (state: PushState, request: FastifyRequest, pushStream: ServerHttp2Stream | null, target: PushTarget, headers: IncomingHttpHeaders, hopsLeft: number): Promise<void> {
    const path = target.path
    // A reset by the client (RST_STREAM) surfaces as an error on the pushed stream: never crash for it.
    pushStream?.on('error', (error) => { request.log.debug({ err: error, path }, 'fastify-push-relations: pushed stream failed') })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(resolve, this.options.pushTimeout, null)
    })
    let response: LightMyRequestResponse | null
    try {
      response = await Promise.race([
        // The client's address and host too: routes that check them answer as for a direct request.
        this.fastify.inject({ method: 'GET', url: path, headers: { ...headers, host: request.host }, remoteAddress: request.ip }),
        timeout
      ])
    } catch (error) {
      response = null
      request.log.debug({ err: error, path }, 'fastify-push-relations: pushed request failed')
    } finally {
      clearTimeout(timer)
    }
    if (response === null || response.statusCode < 200 || response.statusCode >= 300 || pushStream?.destroyed === true) {
      // Not the answer the client would want (or no answer in time): take the promise back.
      if (pushStream !== null) cancel(pushStream)
      return
    }
    if (pushStream !== null) {
      pushStream.respond(responseHeaders(response))
      pushStream.end(response.rawPayload)
    }
    const links = (response.raw.res as unknown as Record<symbol, PushableLinks | undefined>)[kPushedLinks]
    if (links === undefined || (hopsLeft <= 1 && !target.follow)) return
    const wanted = links.pushable.filter((link) => hopsLeft > 1 || links.isSelected(link))
    // The client's selection first: other links get what it leaves of maxPushes.
    const next = [...wanted.filter((link) => links.isSelected(link)), ...wanted.filter((link) => !links.isSelected(link))].filter((link) => state.claim(link))
    const follows = followTargets(links, wanted.filter((link) => links.isSelected(link) && state.wasPromised(link) && !next.includes(link)), state)
    if (next.length > 0 || follows.length > 0) this.push(state, request, [...pushTargets(links, next), ...follows], Math.max(1, hopsLeft - 1))
  }
}

/** Waits until every hop of the request's pushes is promised (bounded by pushTimeout per hop). */
export async function settlePushes (state: PushState): Promise<void> {
  while (state.pending.length > 0) await Promise.all(state.pending.splice(0))
}
