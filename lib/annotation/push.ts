import { KEYWORD, type PushAnnotation } from './annotation.js'

/**
 * Marks `schema` as a relation to preload: `Push(Type.String())` is `Type.String({ 'x-push': true })`.
 * Returns a copy (the argument may be shared by other fields) of the same type, so that
 * `Static` and the type providers infer exactly what they would without it.
 *
 * The parameter is any object rather than a TypeBox type: `@sinclair/typebox` 0.34 (with its
 * separate CommonJS and ES module typings), `typebox` 1.x and plain JSON Schema objects all
 * work, and none of them is needed to compile against this declaration. For the same reason
 * TypeBox's own option types are not augmented: `Push()` is the typed way to annotate.
 */
export function Push<T extends object> (schema: T, annotation: PushAnnotation = true): T {
  // A spread copies own enumerable symbols too: TypeBox's Kind and Optional markers survive.
  return { ...schema, [KEYWORD]: annotation }
}
