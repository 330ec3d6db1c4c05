import createError from '@fastify/error'

/**
 * Every mistake the plugin can detect is reported at startup, with a code users can search for.
 * Runtime problems (a bad value in a payload) are never errors: the value is skipped.
 */

/** A plugin option has the wrong type or value. Thrown by `register`. */
export const FST_PUSH_RELATIONS_INVALID_OPTION = createError<'FST_PUSH_RELATIONS_INVALID_OPTION', [string, string]>(
  'FST_PUSH_RELATIONS_INVALID_OPTION',
  'fastify-push-relations: option "%s" %s',
  500,
  TypeError
)

/** An `x-push` annotation cannot work on the field it is on. Thrown by the route registration or `ready()`. */
export const FST_PUSH_RELATIONS_INVALID_ANNOTATION = createError<'FST_PUSH_RELATIONS_INVALID_ANNOTATION', [string, string, string, string]>(
  'FST_PUSH_RELATIONS_INVALID_ANNOTATION',
  'fastify-push-relations: invalid x-push annotation in %s, response %s, at JSON pointer "%s": %s',
  500,
  TypeError
)

/** The plugin is registered twice in one context (or in a context and its parent). Rejects `register` and `ready()`. */
export const FST_PUSH_RELATIONS_ALREADY_REGISTERED = createError<'FST_PUSH_RELATIONS_ALREADY_REGISTERED'>(
  'FST_PUSH_RELATIONS_ALREADY_REGISTERED',
  'fastify-push-relations is already registered in this context or a parent one; register it once, at the root, before the routes',
  500,
  Error
)
