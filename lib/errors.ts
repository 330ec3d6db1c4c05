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
