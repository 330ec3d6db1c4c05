import type { FastifyInstance, FastifyRequest, LightMyRequestResponse, RawReplyDefaultExpression, RawRequestDefaultExpression } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { constants, sensitiveHeaders, type Http2ServerRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2'
import { createRequire } from 'node:module'
import type { ResolvedOptions } from './options.js'

/**
 * Native HTTP/2 server push: when Fastify itself speaks HTTP/2 and the client allows push, the
 * preload links are promised on the client's stream, and each promised stream is filled by a
 * `GET` dispatched through the same Fastify instance, so hooks, authentication, serializers
 * and this plugin run as for a direct request.
 */

/**
 * What one HTTP/2 connection has, so that a resource is pushed at most once per session: the
 * paths promised on it and the paths its client asked for. Bounded: past
 * MAX_REMEMBERED_PER_SESSION paths the oldest are forgotten (at worst, one is pushed again and
 * the client resets it), so that a long-lived API or proxy connection never stops pushing.
 */
export class SessionPaths {
  /** In insertion order: the first is the oldest. */
  private readonly paths = new Set<string>()

  has (path: string): boolean {
    return this.paths.has(path)
  }

  /** True when the path is remembered; it then counts as recent (a link the responses keep naming stays). */
  touch (path: string): boolean {
    if (!this.paths.has(path)) return false
    this.remember(path)
    return true
  }

  remember (path: string): void {
    this.paths.delete(path)
    this.paths.add(path)
    if (this.paths.size > MAX_REMEMBERED_PER_SESSION) this.paths.delete(this.paths.values().next().value as string)
  }

  forget (path: string): void {
    this.paths.delete(path)
  }

  get size (): number {
    return this.paths.size
  }

  [Symbol.iterator] (): IterableIterator<string> {
    return this.paths.values()
  }
}

const pathsBySession = new WeakMap<ServerHttp2Session, SessionPaths>()
/** Bounds the memory a long-lived connection can make the plugin hold (with maxLinkBytes per path). */
export const MAX_REMEMBERED_PER_SESSION = 1000

/**
 * What the session remembers of a Vulcain hop followed through `path` with a remaining
 * `Preload`: paths never hold a line feed, so the two kinds of entries cannot collide.
 */
function followKey (path: string, preload: string): string {
  return path + '\n' + preload
}

/** The paths a session remembers (undefined once it closed); for tests and debugging. */
export function promisedPaths (session: ServerHttp2Session): SessionPaths | undefined {
  return pathsBySession.get(session)
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
  /** Paths reserved by this request (their links say `nopush`) and not promised on the wire yet. */
  private readonly unsent = new Set<string>()

  constructor (readonly stream: ServerHttp2Stream, private readonly session: SessionPaths, maxPushes: number) {
    this.remaining = maxPushes
    this.followsLeft = maxPushes
  }

  /** True when `path` was promised (or asked for) on this connection already. */
  wasPromised (path: string): boolean {
    return this.session.touch(path)
  }

  /** True when a push of `path` is allowed: budget left, and not on this connection yet. */
  canClaim (path: string): boolean {
    return this.remaining > 0 && !this.session.has(path)
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
    if (preload !== undefined) this.session.remember(followKey(path, preload))
  }

  /** True when the next hop of `path` under `preload` was not followed on this connection yet (and is recorded now). */
  shouldFollow (path: string, preload: string | undefined): boolean {
    if (preload === undefined || this.followsLeft <= 0) return false
    const key = followKey(path, preload)
    if (this.session.touch(key)) return false
    this.followsLeft--
    this.session.remember(key)
    return true
  }

  /** Reserves a push of `path` that `canClaim` allowed, until it is promised or released. */
  reserve (path: string): void {
    this.session.remember(path)
    this.unsent.add(path)
    this.remaining--
  }

  /** The PUSH_PROMISE of `path` went out: the reservation is final. */
  promised (path: string): void {
    this.unsent.delete(path)
  }

  /** `path` was reserved but not promised: a later response on this connection may push it. */
  release (path: string): void {
    if (this.unsent.delete(path)) {
      this.session.forget(path)
      this.remaining++
    }
  }

  /**
   * Releases every reservation not promised yet: the response ended without pushing them (its
   * serialization failed into a 500, the client went away...).
   */
  releaseUnsent (): void {
    for (const path of this.unsent) this.release(path)
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
  let paths = pathsBySession.get(session)
  if (paths === undefined) {
    paths = new SessionPaths()
    pathsBySession.set(session, paths)
    // Node keeps a closed session referenced from its idle timer until that fires (Fastify's
    // http2SessionTimeout, 72 s by default): let go of the paths as soon as it closes.
    session.once('close', () => { pathsBySession.delete(session) })
  }
  // The client has the resource it asked for: a self link is never pushed back. (A longer URL
  // can never be a link: not worth the memory.)
  const path = request.url
  if (path.length <= options.maxLinkBytes) paths.remember(path)
  const state = new PushState(stream, paths, options.maxPushes)
  // Whatever the response was (a 500, a reset by the client), what it did not promise is free again.
  stream.once('close', () => { state.releaseUnsent() })
  return state
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

/** Forwarded headers that hold credentials: never HPACK-indexed in the PUSH_PROMISE. */
const SENSITIVE_HEADERS = ['authorization', 'cookie', 'proxy-authorization']

/** The PUSH_PROMISE headers: the pushed request's, with its credentials marked sensitive. */
function promiseHeaders (path: string, headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const sensitive = SENSITIVE_HEADERS.filter((name) => headers[name] !== undefined)
  return { ':method': 'GET', ':path': path, ...headers, [sensitiveHeaders]: sensitive }
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

/** The part of light-my-request (Fastify's `inject`) the pusher uses. */
type Inject = (
  dispatch: (request: IncomingMessage, response: ServerResponse) => void,
  options: { method: 'GET', url: string, headers: IncomingHttpHeaders, remoteAddress: string, signal: AbortSignal }
) => Promise<LightMyRequestResponse>

let lightMyRequest: Inject | undefined

/**
 * Fastify's own injector, taken from Fastify's dependencies (it is not one of this package's),
 * loaded on the first push as Fastify loads it on the first `inject`. The pusher calls it
 * directly, not through `fastify.inject`, to make the injected socket look like the client's
 * before any hook sees it.
 */
function injector (): Inject {
  lightMyRequest ??= createRequire(require.resolve('fastify'))('light-my-request') as Inject
  return lightMyRequest
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
        state.stream.pushStream(promiseHeaders(path, headers), (error, pushStream) => {
          if (error !== null) {
            // ERR_HTTP2_OUT_OF_STREAMS, ERR_HTTP2_INVALID_STREAM (the client stream is gone)...
            log.debug({ err: error, path }, 'fastify-push-relations: push not promised')
            state.release(path)
            resolve()
            return
          }
          state.promised(path)
          this.fill(state, request, pushStream, target, headers, hopsLeft).then(resolve, resolve)
        })
      } catch (error) {
        // Thrown synchronously: ERR_HTTP2_PUSH_DISABLED, ERR_HTTP2_NESTED_PUSH, a closed stream.
        log.debug({ err: error, path }, 'fastify-push-relations: push not promised')
        state.release(path)
        resolve()
      }
    })
  }

  /**
   * Dispatches `GET path` through Fastify, as the client would have asked for it (same
   * protocol, host and address), and writes the answer on the pushed stream (none for a
   * follow-only target: the connection has the resource, only its next hop is new). A push
   * cancelled before its answer (pushTimeout, a reset by the client) aborts its request's
   * `request.signal`, as a client that goes away does, and starts no further hop.
   */
  private async fill (state: PushState, request: FastifyRequest, pushStream: ServerHttp2Stream | null, target: PushTarget, headers: IncomingHttpHeaders, hopsLeft: number): Promise<void> {
    const path = target.path
    // A reset by the client (RST_STREAM) surfaces as an error on the pushed stream: never crash for it.
    pushStream?.on('error', (error) => { request.log.debug({ err: error, path }, 'fastify-push-relations: pushed stream failed') })
    const cancelled = new AbortController()
    const abort = (): void => { cancelled.abort() }
    const timer = setTimeout(abort, this.options.pushTimeout)
    pushStream?.once('close', abort)
    // The injector rejects on abort; the race makes sure nothing waits for a handler that ignores it.
    const aborted = new Promise<null>((resolve) => { cancelled.signal.addEventListener('abort', () => { resolve(null) }, { once: true }) })
    let response: LightMyRequestResponse | null
    try {
      const dispatched = this.dispatch(request, path, headers, cancelled.signal)
      // Once aborted, the injector rejects too: nobody waits for that answer any more.
      dispatched.catch(() => {})
      response = await Promise.race([dispatched, aborted])
    } catch (error) {
      response = null
      request.log.debug({ err: error, path }, 'fastify-push-relations: pushed request failed')
    } finally {
      clearTimeout(timer)
      pushStream?.off('close', abort)
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

  /**
   * The pushed request, through the same Fastify instance: hooks, authentication, serializers
   * and this plugin run as for a direct request. It comes from the client's address, with its
   * `Host`, over the client's protocol (`request.protocol` is `https` when the client's is).
   */
  private dispatch (request: FastifyRequest, path: string, headers: IncomingHttpHeaders, signal: AbortSignal): Promise<LightMyRequestResponse> {
    const encrypted = request.protocol === 'https'
    const routing = this.fastify.routing.bind(this.fastify) as (request: RawRequestDefaultExpression, reply: RawReplyDefaultExpression) => void
    return injector()((injected, response) => {
      if (encrypted) (injected.socket as { encrypted?: boolean }).encrypted = true
      routing(injected, response)
    }, { method: 'GET', url: path, headers: { ...headers, host: request.host }, remoteAddress: request.ip, signal })
  }
}

/** Waits until every hop of the request's pushes is promised (bounded by pushTimeout per hop). */
export async function settlePushes (state: PushState): Promise<void> {
  while (state.pending.length > 0) await Promise.all(state.pending.splice(0))
}
