import type { FastifyRequest } from 'fastify'
import { LinkSet, type LinkSetOptions } from '../links/link-set.js'
import type { LinkRule } from '../plan/plan-node.js'
import type { WrittenLinks } from './link-header.js'
import { PushClaims } from './push-claims.js'
import type { PushState } from './push-state.js'

/** Request headers a push of a path carries besides the client's (Vulcain's remaining selectors). */
export interface PushHeaders {
  headers (): Record<string, string>
}

/**
 * One reply's links and what has been delivered of them: the link set (de-duplicated and
 * capped), its native pushes (with the `push` option), what the last write put in the `Link`
 * header, and the headers each push carries. Made on the first link of a reply.
 */
export class ResponseLinks {
  readonly set: LinkSet
  /** Null when the `push` option is off. */
  readonly push: PushClaims | null
  /** What the last write put in the `Link` header (null before the first). */
  written: WrittenLinks | null = null
  /** By path, the request headers its push carries (Vulcain fills it); made on first use. */
  pushHeaders: Map<string, PushHeaders> | null = null

  constructor (options: LinkSetOptions & { readonly push: boolean }, request: FastifyRequest, pushState: PushState | null) {
    this.push = options.push ? new PushClaims(pushState) : null
    this.set = new LinkSet(options, request, this.push)
  }

  /** The request's push state when links are pushed natively (HTTP/2), else null. */
  get pushState (): PushState | null {
    return this.push === null ? null : this.push.state
  }

  /** See `LinkSet.add`. */
  add (reference: string, rule: LinkRule, selected = false): string | null {
    return this.set.add(reference, rule, selected)
  }

  /**
   * Links that may be pushed by the next hop (not marked `nopush`). Read only by the pusher of
   * the previous hop, which exists only with the `push` option: the claims are there.
   */
  get pushable (): readonly string[] {
    return (this.push as PushClaims).pushable
  }

  /** True for links a Vulcain `Preload` selected: they are followed whatever `pushDepth` says. */
  isSelected (path: string): boolean {
    return this.push !== null && this.push.isSelected(path)
  }

  /** The request headers a push of `path` carries besides the client's: remaining selectors. */
  pushHeadersOf (path: string): Record<string, string> {
    return this.pushHeaders?.get(path)?.headers() ?? {}
  }
}
