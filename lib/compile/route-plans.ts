import { isMediaTypePlans, type ResponseKey, type ResponseKeys, type ResponsePlan, type RoutePlans } from '../plan/response-plans.js'

/*
 * Fastify's lookup of a response's schema (exact status, then `2xx`, then `default`), resolved
 * here at registration for the 2xx statuses, so that a response finds its plan by index.
 */

/** Response keys of a route that can apply to a 2xx response, lower-cased as Fastify does. */
export function isSuccessResponseKey (key: string): boolean {
  return /^2(?:\d\d|xx)$/.test(key) || key === 'default'
}

/**
 * Resolves Fastify's lookup order once: `keys` holds the compiled response keys (`200`, `2xx`,
 * `default`). A key present without relations still shadows the later ones, as in Fastify.
 */
export function buildRoutePlans (compiled: ReadonlyMap<string, ResponsePlan>): RoutePlans {
  const plans: ResponsePlan[] = []
  for (let status = 200; status < 300; status++) {
    const key = String(status)
    plans.push(compiled.has(key) ? compiled.get(key) ?? null : compiled.has('2xx') ? compiled.get('2xx') ?? null : compiled.get('default') ?? null)
  }
  return plans
}

/** Resolves Fastify's lookup order for the keys themselves (`contentMaps`: key -> is a content map). */
export function buildResponseKeys (contentMaps: ReadonlyMap<string, boolean>): ResponseKeys {
  const keys: Array<ResponseKey | null> = []
  for (let status = 200; status < 300; status++) {
    const key = [String(status), '2xx', 'default'].find((candidate) => contentMaps.has(candidate))
    keys.push(key === undefined ? null : { key, contentMap: contentMaps.get(key) === true })
  }
  return keys
}

/** True when at least one 2xx response of the route has relations. */
export function hasPlans (plans: RoutePlans): boolean {
  return plans.some((plan) => isMediaTypePlans(plan)
    ? plan.anyMediaType !== null || [...plan.byMediaType.values()].some((node) => node !== null)
    : plan !== null)
}
