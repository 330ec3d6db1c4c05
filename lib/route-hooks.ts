import type { onSendHookHandler, preSerializationHookHandler } from 'fastify'
import type { CacheTags } from './cache-tags/hooks.js'
import type { PushClaims } from './deliver/push-claims.js'
import { settlePushes } from './deliver/push-state.js'
import { collectorOf, type Collector } from './collect/compiled-collector.js'
import type { ResolvedOptions } from './options.js'
import { kLinks, type ReplyLinks, type ReplyWithLinks } from './deliver/reply-links.js'
import { planFor, type ResponseKeys, type RoutePlans } from './plan/response-plans.js'
import type { PlanNode } from './plan/plan-node.js'
import type { Vulcain, VulcainRoute } from './vulcain/vulcain.js'

/*
 * The hooks the plugin attaches to a route, in `onRoute`: the collecting hook only on routes
 * with relations or Vulcain; the writing hook on every route (`reply.preload()` works
 * anywhere), where it returns at once when the response has no links.
 */

/** A route's plans; replaced at `onReady` when a shared schema was missing at registration. */
export interface RouteState {
  plans: RoutePlans
  keys: ResponseKeys
  /** What Vulcain needs of the route; null when the protocol is off for it. */
  vulcain: VulcainRoute | null
}

/**
 * Reads the relations of 2xx object payloads, before serialization, along the route's plan;
 * with Vulcain, applies the request's `Fields` and `Preload` first.
 */
export function collectHook (state: RouteState, options: ResolvedOptions, replyLinks: ReplyLinks, vulcain: Vulcain | null, cacheTags: CacheTags | null = null): preSerializationHookHandler {
  // The last plan's collector: a route answers with one plan (two with content maps), so the
  // lookup by plan is almost never needed.
  let lastPlan: PlanNode | null = null
  let lastCollector: Collector | null = null
  return function collectPushRelations (request, reply, payload, done) {
    const status = reply.statusCode
    if (status >= 200 && status < 300 && typeof payload === 'object' && payload !== null) {
      const plan = planFor(state.plans, status, reply)
      const directives = vulcain === null ? null : vulcain.directivesOf(request, reply)
      if (plan !== null || directives !== null) {
        const links = replyLinks.of(request, reply)
        const tags = cacheTags === null || plan === null ? null : cacheTags.readTags(request, reply)
        try {
          // Selected relations first: they come first in the header and in the pushes; in the
          // query form they are rewritten in the document, and the x-push fields read after
          // them then name the same URLs.
          if (directives !== null) payload = (vulcain as Vulcain).apply(request, reply, payload, plan, links, state.vulcain as VulcainRoute, directives) as typeof payload
          const set = links.set
          if (plan !== null && plan !== lastPlan) {
            lastPlan = plan
            lastCollector = collectorOf(plan)
          }
          const complete = plan === null || (lastCollector as Collector)(payload, set, options.iriKey, tags)
          // Tags cut by the depth limit would miss resources: such a response is not cached.
          if (!complete) tags?.incomplete()
          if (!complete || set.full || set.skipped > 0) {
            request.log.debug({ cap: set.capped, skipped: set.skipped, depthLimited: !complete, links: set.paths.length },
              'fastify-push-relations: some relations of this response were not preloaded')
          }
        } catch (error) {
          // A payload getter that throws is the serializer's business; links must never cause a 500.
          tags?.incomplete()
          request.log.warn({ err: error }, 'fastify-push-relations: could not read the relations of this response')
        }
      }
    }
    done(null, payload)
  }
}

/**
 * Writes the links not written yet, and promises the pushes; waits for deeper push hops. Only
 * for 2xx responses, and 304 (a cache revalidation, by @fastify/etag, keeps its 200's links):
 * links collected from a payload whose serialization then failed stay out of the 500. What
 * `reply.preload()` wrote stays, after a Link value the handler set since, whatever the status.
 */
export function writeHook (replyLinks: ReplyLinks): onSendHookHandler {
  return function writePushRelations (request, reply, payload, done) {
    const links = (reply as ReplyWithLinks)[kLinks]
    const status = reply.statusCode
    if (links === null) {
      done(null, payload)
      return
    }
    if ((status < 200 || status >= 300) && status !== 304) {
      // Pushes reserved for the payload but never promised are free for later responses.
      links.pushState?.releaseUnsent()
      replyLinks.rewritePreloads(reply, links)
      done(null, payload)
      return
    }
    replyLinks.flush(request, reply, links)
    // With pushDepth > 1 or Vulcain, later hops are promised on this stream: it stays open until then.
    const claims = links.push
    const state = claims === null ? null : claims.state
    if (state !== null && (state.pending.length > 0 || (claims as PushClaims).deferredPushes.length > 0)) {
      settlePushes(state).then(async () => {
        // The client's Preload selection is promised: x-push links get what it left of maxPushes.
        if ((claims as PushClaims).deferredPushes.length > 0 && (claims as PushClaims).claimDeferred()) {
          replyLinks.flush(request, reply, links)
          await settlePushes(state)
        }
        done(null, payload)
      }, done)
      return
    }
    done(null, payload)
  }
}
