import { collectorOf } from '../collect/compiled-collector.js'
import { FST_PUSH_RELATIONS_INVALID_ANNOTATION } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import { type ResponseKeys, type ResponsePlan, type RoutePlans } from '../plan/response-plans.js'
import { compileResponseSchema, planPointers, type CompileSite } from './schema-compiler.js'
import { isSchemaObject } from './schema-resolver.js'
import type { PlanNode } from '../plan/plan-node.js'
import { buildResponseKeys, buildRoutePlans, isSuccessResponseKey } from './route-plans.js'

/** The relations of one response of a route, for introspection. */
export interface ResponsePreloads {
  /** The response key, lower-cased as Fastify reads it: `200`, `2xx` or `default`. */
  readonly status: string
  /** The media type, for responses declared as `{ content: { [mediaType]: { schema } } }`. */
  readonly mediaType?: string
  /** Payload pointers whose values are preloaded (`*`: every element; `/**`: recursion). */
  readonly pointers: readonly string[]
}

export interface CompiledRoute {
  readonly plans: RoutePlans
  /** Which response key serializes each 2xx status (Vulcain re-serializes responses). */
  readonly keys: ResponseKeys
  readonly preloads: readonly ResponsePreloads[]
  /** `$ref`s not resolvable yet: the route is compiled again at `onReady`. */
  readonly unresolved: readonly string[]
}

function annotationError (site: CompileSite, pointer: string, problem: string): Error {
  return new FST_PUSH_RELATIONS_INVALID_ANNOTATION(site.route, site.response, pointer, problem)
}

/**
 * Compiles the 2xx response schemas of a route (`schema.response`). `route` names it in errors
 * (`GET /books/:id`); `getSchema` resolves shared schemas in the route's encapsulation context.
 */
export function compileRoute (
  response: unknown,
  getSchema: (id: string) => unknown,
  options: ResolvedOptions,
  route: string,
  formatRelations = false
): CompiledRoute {
  const compiled = new Map<string, ResponsePlan>()
  const contentMaps = new Map<string, boolean>()
  const preloads: ResponsePreloads[] = []
  const unresolved = new Set<string>()
  if (!isSchemaObject(response)) return { plans: buildRoutePlans(compiled), keys: buildResponseKeys(contentMaps), preloads, unresolved: [] }

  const compileOne = (schema: unknown, status: string, mediaType?: string): PlanNode | null => {
    const site = { route, response: mediaType === undefined ? status : `${status} ${mediaType}` }
    const result = compileResponseSchema(schema, getSchema, options, site, annotationError, formatRelations)
    for (const reference of result.unresolved) unresolved.add(reference)
    const pointers = result.plan === null ? [] : planPointers(result.plan)
    // A plan kept only for the IRIs of its objects (cache tags) preloads nothing.
    if (pointers.length > 0) preloads.push({ status, ...(mediaType === undefined ? {} : { mediaType }), pointers })
    // The collector is generated now, at registration, rather than on the route's first response.
    // Vulcain's plans of schema relations are only walked by Vulcain: they need none.
    if (result.plan !== null && !formatRelations) collectorOf(result.plan)
    return result.plan
  }

  for (const [key, value] of Object.entries(response)) {
    const status = key.toLowerCase()
    if (!isSuccessResponseKey(status)) continue
    contentMaps.set(status, isSchemaObject(value) && isSchemaObject(value.content))
    if (isSchemaObject(value) && isSchemaObject(value.content)) {
      const byMediaType = new Map<string, PlanNode | null>()
      for (const [mediaType, entry] of Object.entries(value.content)) {
        byMediaType.set(mediaType, compileOne(isSchemaObject(entry) ? entry.schema : undefined, status, mediaType))
      }
      const anyMediaType = byMediaType.get('*/*') ?? null
      compiled.set(status, { byMediaType, anyMediaType })
    } else {
      compiled.set(status, compileOne(value, status))
    }
  }
  return { plans: buildRoutePlans(compiled), keys: buildResponseKeys(contentMaps), preloads, unresolved: [...unresolved] }
}
