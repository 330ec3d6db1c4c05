import type {
  FastifyInstance,
  FastifyPluginCallback,
  onSendHookHandler,
  preSerializationHookHandler,
  RouteOptions
} from 'fastify'
import fp from 'fastify-plugin'
import { Pusher, settlePushes } from './http2-push.js'
import { collectLinks } from './link-collector.js'
import { resolveOptions, type PushRelationsOptions, type ResolvedOptions } from './options.js'
import { kLinks, ReplyLinks, type ReplyWithLinks } from './reply-links.js'
import { hasPlans, planFor, type RoutePlans } from './response-plans.js'
import { compileRoute, type CompiledRoute, type ResponsePreloads } from './route-compiler.js'

/** One annotated route, as `fastify.pushRelations.routes()` lists it. */
export interface RoutePreloads {
  readonly method: RouteOptions['method']
  readonly url: string
  readonly responses: readonly ResponsePreloads[]
}

/** The `fastify.pushRelations` decorator. */
export interface PushRelationsDecorator {
  /** The routes with relations and, per 2xx response, the payload pointers that are preloaded. */
  routes (): RoutePreloads[]
}

declare module 'fastify' {
  interface FastifyInstance {
    pushRelations: PushRelationsDecorator
  }
}

/** A route's plans; replaced at `onReady` when a shared schema was missing at registration. */
interface RouteState {
  plans: RoutePlans
}

type Hooks<T> = T | T[] | undefined

function appendHook<T> (hooks: Hooks<T>, hook: T): T[] {
  if (hooks === undefined) return [hook]
  return Array.isArray(hooks) ? [...hooks, hook] : [hooks, hook]
}

function routeName (routeOptions: RouteOptions): string {
  const method = Array.isArray(routeOptions.method) ? routeOptions.method.join(',') : routeOptions.method
  return `${method} ${routeOptions.url}`
}

/** Reads the relations of 2xx object payloads, before serialization, along the route's plan. */
function collectHook (state: RouteState, options: ResolvedOptions, replyLinks: ReplyLinks): preSerializationHookHandler {
  return function collectPushRelations (request, reply, payload, done) {
    const status = reply.statusCode
    if (status >= 200 && status < 300 && typeof payload === 'object' && payload !== null) {
      const plan = planFor(state.plans, status, reply)
      if (plan !== null) {
        const links = replyLinks.of(request, reply)
        try {
          const complete = collectLinks(plan, payload, links, options.iriKey)
          if (!complete || links.full || links.skipped > 0) {
            request.log.debug({ cap: links.capped, skipped: links.skipped, depthLimited: !complete, links: links.paths.length },
              'fastify-push-relations: some relations of this response were not preloaded')
          }
        } catch (error) {
          // A payload getter that throws is the serializer's business; links must never cause a 500.
          request.log.warn({ err: error }, 'fastify-push-relations: could not read the relations of this response')
        }
      }
    }
    done(null, payload)
  }
}

function pushRelations (fastify: FastifyInstance, rawOptions: PushRelationsOptions, done: (error?: Error) => void): void {
  let options: ResolvedOptions
  try {
    options = resolveOptions(rawOptions)
  } catch (error) {
    // A throw here would escape avvio: reject register() and ready() instead.
    done(error as Error)
    return
  }
  const replyLinks = new ReplyLinks(options, new Pusher(fastify, options))
  const annotated: Array<{ -readonly [K in keyof RoutePreloads]: RoutePreloads[K] }> = []
  const pending: Array<{ state: RouteState, entry: (typeof annotated)[number], recompile: () => CompiledRoute }> = []

  warnAboutEarlierRoutes(fastify)

  fastify.decorateReply(kLinks, null)
  fastify.decorateReply('preload', replyLinks.preloadDecorator())
  fastify.decorate('pushRelations', {
    routes: () => annotated.filter((route) => route.responses.length > 0).map((route) => ({ ...route }))
  })

  const writeLinks: onSendHookHandler = function writePushRelations (request, reply, payload, done) {
    const links = (reply as ReplyWithLinks)[kLinks]
    if (links === null) {
      done(null, payload)
      return
    }
    replyLinks.flush(request, reply, links)
    // With pushDepth > 1, the next hops are promised on this stream: it must stay open until then.
    if (links.push !== null && links.push.pending.length > 0) {
      settlePushes(links.push).then(() => { done(null, payload) }, done)
      return
    }
    done(null, payload)
  }

  fastify.addHook('onRoute', function attachPushRelations (this: FastifyInstance, routeOptions) {
    // reply.preload() can push from any route; its deeper hops need the onSend hook to wait.
    if (options.push) routeOptions.onSend = appendHook(routeOptions.onSend, writeLinks)
    const response = routeOptions.schema?.response
    if (response === undefined) return
    const route = routeName(routeOptions)
    const getSchema = (id: string): unknown => this.getSchema(id)
    const compiled = compileRoute(response, getSchema, options, route)
    if (compiled.unresolved.length === 0 && !hasPlans(compiled.plans)) return

    const state: RouteState = { plans: compiled.plans }
    const entry = { method: routeOptions.method, url: routeOptions.url, responses: compiled.preloads }
    annotated.push(entry)
    if (compiled.unresolved.length > 0) {
      pending.push({ state, entry, recompile: () => compileRoute(response, getSchema, options, route) })
    }
    this.log.debug({ route, preloads: compiled.preloads }, 'fastify-push-relations: relations compiled')
    routeOptions.preSerialization = appendHook(routeOptions.preSerialization, collectHook(state, options, replyLinks))
    if (!options.push) routeOptions.onSend = appendHook(routeOptions.onSend, writeLinks)
  })

  // Shared schemas may be added after the routes that use them; Fastify resolves them at ready.
  fastify.addHook('onReady', function compilePendingRoutes (done) {
    try {
      for (const { state, entry, recompile } of pending) {
        const compiled = recompile()
        state.plans = compiled.plans
        entry.responses = compiled.preloads
        if (compiled.unresolved.length > 0) {
          fastify.log.warn({ route: `${String(entry.method)} ${entry.url}`, unresolved: compiled.unresolved },
            'fastify-push-relations: $ref not found in the route\'s context; x-push annotations behind it are ignored')
        }
      }
      done()
    } catch (error) {
      done(error as Error)
    }
  })

  done()
}

/**
 * `onRoute` only sees routes registered after it is added: earlier ones would silently get no
 * links. Such routes are already in the router when the plugin loads, so they are named here.
 */
function warnAboutEarlierRoutes (fastify: FastifyInstance): void {
  const earlier = fastify.printRoutes({ commonPrefix: false })
  if (!earlier.includes('── ')) return // an empty router prints "(empty tree)"
  fastify.log.warn(
    'fastify-push-relations was registered after these routes and cannot see their x-push annotations; ' +
    'register it before your routes (await fastify.register(pushRelations)):\n' + earlier
  )
}

export const plugin: FastifyPluginCallback<PushRelationsOptions> = fp(pushRelations, {
  fastify: '5.x',
  name: 'fastify-push-relations'
})
