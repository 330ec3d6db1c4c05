import { KEYWORD } from './annotation.js'

/** The part of Ajv this plugin uses, so that Ajv's types are not a dependency. */
export interface AjvLike {
  getKeyword (keyword: string): unknown
  addKeyword (definition: { keyword: string, schemaType: string[] }): unknown
}

/**
 * Ajv's strict mode (Fastify's default) rejects unknown keywords in validation schemas, so a
 * schema with `x-push` reused as a request body fails `ready()`. This Ajv plugin declares the
 * keyword (as an annotation that validates nothing):
 *
 *     Fastify({ ajv: { plugins: [ajvPlugin] } })
 */
export function ajvPlugin<T extends AjvLike> (ajv: T): T {
  if (ajv.getKeyword(KEYWORD) === false) ajv.addKeyword({ keyword: KEYWORD, schemaType: ['boolean', 'string', 'object'] })
  return ajv
}
