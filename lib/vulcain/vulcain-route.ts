import { compileRoute, type CompiledRoute } from '../compile/route-compiler.js'
import { isSuccessResponseKey } from '../compile/route-plans.js'
import { isSchemaObject } from '../compile/schema-resolver.js'
import type { ResolvedOptions } from '../options.js'
import { planFor } from '../plan/response-plans.js'
import type { VulcainRoute } from './vulcain.js'

/* What Vulcain needs of a route, gathered at registration. */

/** What Vulcain needs of a route: its 2xx response schemas, to serialize filtered documents. */
export function vulcainRoute (response: unknown, getSchema: (id: string) => unknown, compiled: CompiledRoute, options: ResolvedOptions, route: string): VulcainRoute {
  let relationPlans: VulcainRoute['relationPlans'] = null
  if (options.vulcain?.relations === 'schema') {
    // The plans of what the schema says is a relation, compiled now; again at first use when a
    // shared schema was missing (Fastify resolves them at ready).
    let plans = compileRoute(response, getSchema, options, route, true)
    let retry = plans.unresolved.length > 0
    relationPlans = (status, reply) => {
      if (retry) {
        retry = false
        plans = compileRoute(response, getSchema, options, route, true)
      }
      return planFor(plans.plans, status, reply)
    }
  }
  return { keys: compiled.keys, schemas: responseSchemas(response), getSchema, derived: new Map(), relationPlans }
}

/**
 * The 2xx response schemas of a route by response key (`200`, `2xx`, `default`), and by
 * `key mediaType` for content maps, as Fastify looks them up.
 */
export function responseSchemas (response: unknown): Map<string, unknown> {
  const schemas = new Map<string, unknown>()
  if (!isSchemaObject(response)) return schemas
  for (const [key, value] of Object.entries(response)) {
    const status = key.toLowerCase()
    if (!isSuccessResponseKey(status) || !isSchemaObject(value)) continue
    if (isSchemaObject(value.content)) {
      for (const [mediaType, entry] of Object.entries(value.content)) {
        if (isSchemaObject(entry) && isSchemaObject(entry.schema)) schemas.set(`${status} ${mediaType}`, entry.schema)
      }
    } else {
      schemas.set(status, value)
    }
  }
  return schemas
}
