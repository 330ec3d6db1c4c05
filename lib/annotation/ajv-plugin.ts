import { KEYWORD } from './annotation.js'

/** The part of Ajv this plugin uses, so that Ajv's types are not a dependency. */
export interface AjvLike {
  addKeyword (keyword: string): unknown
}

/**
 * Ajv's strict mode (Fastify's default) rejects unknown keywords in validation schemas, so a
 * schema with `x-push` reused as a request body fails `ready()`. This Ajv plugin declares the
 * keyword as an annotation, which validates nothing (the plugin checks it at startup):
 *
 *     Fastify({ ajv: { plugins: [ajvPlugin] } })
 */
export function ajvPlugin<T extends AjvLike> (ajv: T): T {
  try {
    ajv.addKeyword(KEYWORD)
  } catch {
    // Ajv throws when the keyword is already declared (by the user, or this plugin listed twice):
    // it is allowed either way.
  }
  return ajv
}
