import type { FastifyInstance, FastifyRequest, LightMyRequestResponse, RawReplyDefaultExpression, RawRequestDefaultExpression } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { constants, sensitiveHeaders, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2'
import { createRequire } from 'node:module'
import type { ResolvedOptions } from '../options.js'
import type { PushState } from './push-state.js'

/**
 * Native HTTP/2 server push: when Fastify itself speaks HTTP/2 and the client allows push, the
 * preload links are promised on the client's stream, and each promised stream is filled by a
 * `GET` dispatched through the same Fastify instance, so hooks, authentication, serializers
 * and this plugin run as for a direct request.
 */

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
