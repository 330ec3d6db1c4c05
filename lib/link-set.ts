import type { FastifyRequest } from 'fastify'
import type { LinkRule } from './annotation.js'
import type { PushState } from './http2-push.js'
import type { WrittenLinks } from './link-header.js'
import type { ResolvedOptions } from './options.js'
import { Remainders } from './vulcain-selectors.js'
import { isReadyPath, RequestBase, toPreloadPath } from './uri-reference.js'

/** Why a response got fewer links than its payload holds; reported at debug level. */
export type CapReason = 'maxLinks' | 'maxLinkBytes' | 'maxCandidates'

/**
 * The preload links of one response, in first-seen order, de-duplicated by path and bounded by
 * the caps. Filled from the payload before serialization (and by `reply.preload()`), written
 * to the header in onSend, or at once by `reply.preload()`.
 */
export class LinkSet {
  /** Path-absolute references, in order. */
  readonly paths: string[] = []
  /** The Link entry of each path: `</authors/1>; rel=preload; as=fetch`. */
  readonly entries: string[] = []
  /** The paths whose entry allows a push (no `nopush`); kept only when the `push` option is on. */
  readonly pushable: string[] = []
  /** The paths this response pushes natively, in order (their entries say `nopush`). */
  readonly pushes: string[] = []
  /** What the last write put in the `Link` header (null before the first). */
  written: WrittenLinks | null = null
  /** Pushes before this index are already promised. */
  flushedPushes = 0
  /** Bytes of `entries` joined with `, `. */
  bytes = 0
  /** Set once a cap is reached: collection stops there. */
  capped: CapReason | null = null
  /** Values that were not usable references (other origins, bad characters, wrong types...). */
  skipped = 0
  private candidates = 0
  private readonly candidateLimit: number
  private readonly seen = new Set<string>()
  private requestBase: RequestBase | null = null
  /**
   * Paths with the Vulcain selectors that remain for their resource (what a push of the path
   * carries); made on first use (most responses have none).
   */
  private selections: Map<string, Remainders> | null = null
  /** Paths a Vulcain `Preload` selected: their pushes are followed as deep as the selectors go. */
  private selectedPaths: Set<string> | null = null
  /**
   * Set when the client sent `Preload`: its selection is pushed first, the other links of the
   * response (`x-push`) only with the pushes left once the selection's hops are promised.
   */
  private deferUnselected = false
  /** Selected paths this connection got before: their next hop may still be new (Vulcain). */
  readonly follows: string[] = []
  /** Links waiting for what the selection leaves of `maxPushes` (their entries say `nopush`). */
  readonly deferredPushes: string[] = []

  /**
   * @param pushState the request's push state when links are pushed natively (HTTP/2), else null
   */
  constructor (private readonly options: ResolvedOptions, private readonly request: FastifyRequest, readonly pushState: PushState | null = null) {
    this.candidateLimit = options.maxCandidates
  }

  /** Made on first need: path references (the common case) never need it. */
  private get base (): RequestBase {
    this.requestBase ??= new RequestBase(this.request)
    return this.requestBase
  }

  get full (): boolean {
    return this.capped !== null
  }

  /** Counts a value that cannot be a reference at all (a number without template, null...). */
  skip (): void {
    this.skipped++
    if (++this.candidates > this.candidateLimit) this.capped = 'maxCandidates'
  }

  /**
   * Adds the relation `reference` (as found in the payload) with the parameters of `rule`.
   * Returns its path (also when it was there already), or null when it was skipped or capped.
   * `selected`: a Vulcain `Preload` asked for it.
   */
  add (reference: string, rule: LinkRule, selected = false): string | null {
    if (++this.candidates > this.candidateLimit) {
      this.capped = 'maxCandidates'
      return null
    }
    // A path added before is its own normal form: a repeated relation costs one lookup.
    if (this.seen.has(reference)) return this.repeated(reference, selected)
    const path = this.normalize(reference)
    if (path === null) {
      this.skipped++
      return null
    }
    if (path !== reference && this.seen.has(path)) return this.repeated(path, selected)
    const { maxLinks, maxLinkBytes } = this.options
    if (this.paths.length === maxLinks) {
      this.capped = 'maxLinks'
      return null
    }
    const push = this.pushState
    // A link pushed natively says `nopush`, so that a proxy in front does not push it again.
    const deferred = push !== null && !rule.nopush && !selected && this.deferUnselected && !push.wasPromised(path)
    const pushNow = !deferred && push !== null && !rule.nopush && push.canClaim(path)
    const pushed = deferred || pushNow || (push !== null && !rule.nopush && push.wasPromised(path))
    const entry = pushed ? '<' + path + '>' + rule.params + '; nopush' : '<' + path + '>' + rule.params
    const bytes = this.bytes + entry.length + (this.paths.length === 0 ? 0 : 2)
    if (bytes > maxLinkBytes) {
      this.capped = 'maxLinkBytes'
      return null
    }
    this.seen.add(path)
    this.paths.push(path)
    this.entries.push(entry)
    this.bytes = bytes
    if (!rule.nopush && this.options.push) this.pushable.push(path)
    if (pushNow) {
      push.reserve(path)
      this.pushes.push(path)
    }
    if (deferred) this.deferredPushes.push(path)
    if (selected) this.select(path)
    if (selected && !pushNow && pushed && !deferred) this.follows.push(path)
    return path
  }

  private repeated (path: string, selected: boolean): string {
    if (selected && !this.isSelected(path)) {
      this.select(path)
      // On the connection already (before, or pushed by reply.preload() without selectors): its
      // next hop may still be new. A push not promised yet carries the selectors itself.
      const waiting = this.pushes.indexOf(path) >= this.flushedPushes
      if (this.pushState?.wasPromised(path) === true && !waiting) this.follows.push(path)
    }
    return path
  }

  private select (path: string): void {
    this.selectedPaths ??= new Set()
    this.selectedPaths.add(path)
  }

  /** True when a Vulcain `Preload` selected `path`. */
  isSelected (path: string): boolean {
    return this.selectedPaths?.has(path) === true
  }

  /** The client sent `Preload`: links it did not select are pushed after its selection. */
  preferSelected (): void {
    if (this.pushState !== null) this.deferUnselected = true
  }

  /** Claims what the selection left of `maxPushes` for the deferred links; true if any was claimed. */
  claimDeferred (): boolean {
    const push = this.pushState as PushState
    const before = this.pushes.length
    for (const path of this.deferredPushes.splice(0)) if (push.claim(path)) this.pushes.push(path)
    return this.pushes.length > before
  }

  /** The path a reference stands for, as `add` would write it; null when it is not usable. */
  pathOf (reference: string): string | null {
    return this.seen.has(reference) ? reference : this.normalize(reference)
  }

  private normalize (reference: string): string | null {
    const { maxLinkBytes, origins } = this.options
    return isReadyPath(reference, maxLinkBytes) ? reference : toPreloadPath(reference, this.base, origins, maxLinkBytes)
  }

  /** The remaining Vulcain selectors for the resource at `path` (made on first use). */
  remaindersOf (path: string): Remainders {
    this.selections ??= new Map()
    let remainders = this.selections.get(path)
    if (remainders === undefined) this.selections.set(path, remainders = new Remainders())
    return remainders
  }

  /** The request headers a push of `path` carries besides the client's: remaining selectors. */
  pushHeadersOf (path: string): Record<string, string> {
    return this.selections?.get(path)?.headers() ?? {}
  }
}
