import type { FastifyReply, FastifyRequest } from 'fastify'
import { writeLinkHeader } from './link-header.js'
import { followTargets, kPushedLinks, pushTargets, type Pusher } from './pusher.js'
import { pushStateOf } from './push-state.js'
import { ResponseLinks } from './response-links.js'
import type { ResolvedOptions } from '../options.js'
import type { LinkRule } from '../plan/plan-node.js'

/** The links of a reply: null until its payload or `reply.preload()` names a relation. */
export const kLinks = Symbol('fastify-push-relations.links')

export interface ReplyWithLinks extends FastifyReply {
  [kLinks]: ResponseLinks | null
}

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Preloads these URI references (same rules, caps and de-duplication as the `x-push`
     * fields): adds them to the `Link` header now, sends them as `103 Early Hints` with the
     * `earlyHints` option, and pushes them with the `push` option over HTTP/2. Call it as soon
     * as the handler knows them, before slow work.
     */
    preload (...uris: string[]): this
  }
}

/** Where a reply's links go out: the header, 103 Early Hints and native pushes. */
export class ReplyLinks {
  /** Whether pushed responses report their links to the pusher of the next hop. */
  private readonly reportsNextHop: boolean

  /**
   * @param handlerRule the rule of links that come from no annotation: `reply.preload()`,
   *   Vulcain selections of plain strings
   */
  constructor (private readonly options: ResolvedOptions, private readonly pusher: Pusher, readonly handlerRule: LinkRule) {
    this.reportsNextHop = options.push && (options.pushDepth > 1 || options.vulcain !== null)
  }

  /** The reply's links, created on first use (with its push state on HTTP/2). */
  of (request: FastifyRequest, reply: FastifyReply): ResponseLinks {
    const state = reply as ReplyWithLinks
    state[kLinks] ??= new ResponseLinks(this.options, request, pushStateOf(request, this.options))
    return state[kLinks]
  }

  /** Writes the entries not written yet and promises the pushes not promised yet. */
  flush (request: FastifyRequest, reply: FastifyReply, links: ResponseLinks): void {
    writeLinkHeader(reply, links, this.options.maxLinkBytes)
    const claims = links.push
    if (claims !== null && claims.state !== null && (claims.flushedPushes < claims.pushes.length || claims.follows.length > 0)) {
      const paths = claims.pushes.slice(claims.flushedPushes)
      claims.flushedPushes = claims.pushes.length
      // Vulcain: selected links the connection has, whose next hop it has not got yet.
      const follows = followTargets(links, claims.follows.splice(0), claims.state)
      this.pusher.push(claims.state, request, [...pushTargets(links, paths), ...follows])
    }
    // The pusher of the previous hop reads what this response may push in turn.
    if (this.reportsNextHop) {
      (reply.raw as unknown as Record<symbol, unknown>)[kPushedLinks] = links
    }
  }

  /**
   * For a response that gets no links of its own (not 2xx): writes again, after whatever the
   * handler set since, the entries `reply.preload()` wrote; links of the payload stay out.
   */
  rewritePreloads (reply: FastifyReply, links: ResponseLinks): void {
    if (links.written !== null) writeLinkHeader(reply, links, this.options.maxLinkBytes, links.written.count)
  }

  /** The `reply.preload(...uris)` decorator. */
  preloadDecorator (): (this: FastifyReply, ...uris: string[]) => FastifyReply {
    const replyLinks = this
    const { earlyHints } = this.options
    return function preload (this: FastifyReply, ...uris: string[]): FastifyReply {
      if (this.sent || this.raw.headersSent) {
        this.log.debug('fastify-push-relations: reply.preload() after the response started; ignored')
        return this
      }
      const links = replyLinks.of(this.request, this)
      const { set } = links
      const before = set.entries.length
      for (const uri of uris) {
        if (typeof uri === 'string') set.add(uri, replyLinks.handlerRule)
        else set.skip()
      }
      if (earlyHints && set.entries.length > before) {
        try {
          this.writeEarlyHints({ link: set.entries.slice(before) })
        } catch (error) {
          this.log.debug({ err: error }, 'fastify-push-relations: 103 Early Hints not sent')
        }
      }
      replyLinks.flush(this.request, this, links)
      return this
    }
  }
}
