import type { onSendHookHandler } from 'fastify'

const VARY_NAMES: ReadonlyArray<readonly [string, RegExp]> = ['Preload', 'Fields'].map((name) => [name, new RegExp(`(?:^|,)\\s*${name}\\s*(?:,|$)`, 'i')] as const)

/** Responses of a Vulcain route vary with the directives, whether or not a request used them. */
export const varyOnDirectives: onSendHookHandler = function varyOnVulcainDirectives (_request, reply, payload, done) {
  const vary = reply.getHeader('vary')
  if (vary === undefined) {
    reply.header('vary', 'Preload, Fields')
    done(null, payload)
    return
  }
  const current = Array.isArray(vary) ? vary.join(', ') : String(vary)
  if (current.trim() !== '*') {
    const missing = VARY_NAMES.filter(([, present]) => !present.test(current)).map(([name]) => name)
    if (missing.length > 0) reply.header('vary', current === '' ? missing.join(', ') : `${current}, ${missing.join(', ')}`)
  }
  done(null, payload)
}
