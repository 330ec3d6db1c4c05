import type { ServerHttp2Session } from 'node:http2'

/**
 * What one HTTP/2 connection has, so that a resource is pushed at most once per session: the
 * paths promised on it and the paths its client asked for. Bounded: past
 * MAX_REMEMBERED_PER_SESSION paths the oldest are forgotten (at worst, one is pushed again and
 * the client resets it), so that a long-lived API or proxy connection never stops pushing.
 */
export class SessionPaths {
  /** In insertion order: the first is the oldest. */
  private readonly paths = new Set<string>()

  has (path: string): boolean {
    return this.paths.has(path)
  }

  /** True when the path is remembered; it then counts as recent (a link the responses keep naming stays). */
  touch (path: string): boolean {
    if (!this.paths.has(path)) return false
    this.remember(path)
    return true
  }

  remember (path: string): void {
    this.paths.delete(path)
    this.paths.add(path)
    if (this.paths.size > MAX_REMEMBERED_PER_SESSION) this.paths.delete(this.paths.values().next().value as string)
  }

  forget (path: string): void {
    this.paths.delete(path)
  }

  get size (): number {
    return this.paths.size
  }

  [Symbol.iterator] (): IterableIterator<string> {
    return this.paths.values()
  }
}

const pathsBySession = new WeakMap<ServerHttp2Session, SessionPaths>()
/** Bounds the memory a long-lived connection can make the plugin hold (with maxLinkBytes per path). */
export const MAX_REMEMBERED_PER_SESSION = 1000

/**
 * What the session remembers of a Vulcain hop followed through `path` with a remaining
 * `Preload`: paths never hold a line feed, so the two kinds of entries cannot collide.
 */
export function followKey (path: string, preload: string): string {
  return path + '\n' + preload
}

/** The paths a session remembers (undefined once it closed); for tests and debugging. */
export function promisedPaths (session: ServerHttp2Session): SessionPaths | undefined {
  return pathsBySession.get(session)
}

/** What `session` remembers, made on its first push. */
export function sessionPathsOf (session: ServerHttp2Session): SessionPaths {
  let paths = pathsBySession.get(session)
  if (paths === undefined) {
    paths = new SessionPaths()
    pathsBySession.set(session, paths)
    // Node keeps a closed session referenced from its idle timer until that fires (Fastify's
    // http2SessionTimeout, 72 s by default): let go of the paths as soon as it closes.
    session.once('close', () => { pathsBySession.delete(session) })
  }
  return paths
}
