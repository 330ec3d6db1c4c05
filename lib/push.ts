import { KEYWORD, type PushAnnotation } from './annotation.js'
import type {} from '@sinclair/typebox' // the module augmented below

declare module '@sinclair/typebox' {
  interface SchemaOptions {
    /**
     * Marks a relation for fastify-push-relations: `true` (the value is a URI reference, or an
     * embedded object's IRI), an RFC 6570 template such as `'/authors/{id}'`, or an object of
     * per-field overrides (`{ template, rel, as, crossorigin, nopush }`).
     */
    [KEYWORD]?: PushAnnotation
  }
}

/**
 * Marks `schema` as a relation to preload: `Push(Type.String())` is `Type.String({ 'x-push': true })`.
 * Returns a copy (the argument may be shared by other fields) of the same TypeBox type.
 *
 * The parameter is any object rather than TypeBox's `TSchema`: TypeBox ships separate CommonJS
 * and ES module typings whose `Kind` symbols differ, and plain JSON Schema objects work too.
 */
export function Push<T extends object> (schema: T, annotation: PushAnnotation = true): T {
  // A spread copies own enumerable symbols too: TypeBox's Kind and Optional markers survive.
  return { ...schema, [KEYWORD]: annotation }
}
