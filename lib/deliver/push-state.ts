import type { FastifyRequest } from 'fastify'
import type { Http2ServerRequest, ServerHttp2Session, ServerHttp2Stream } from 'node:http2'
import type { ResolvedOptions } from '../options.js'
import { followKey, sessionPathsOf, type SessionPaths } from './push-sessions.js'

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
  const paths = sessionPathsOf(stream.session as ServerHttp2Session)
  // The client has the resource it asked for: a self link is never pushed back. (A longer URL
  // can never be a link: not worth the memory.)
  const path = request.url
  if (path.length <= options.maxLinkBytes) paths.remember(path)
  const state = new PushState(stream, paths, options.maxPushes)
  // Whatever the response was (a 500, a reset by the client), what it did not promise is free again.
  stream.once('close', () => { state.releaseUnsent() })
  return state
}

/** Waits until every hop of the request's pushes is promised (bounded by pushTimeout per hop). */
export async function settlePushes (state: PushState): Promise<void> {
  while (state.pending.length > 0) await Promise.all(state.pending.splice(0))
}
