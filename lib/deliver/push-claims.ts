import type { LinkObserver } from '../links/link-set.js'
import type { LinkRule } from '../plan/plan-node.js'
import type { PushState } from './push-state.js'

/** How a new link is pushed, decided as it is added. */
const NOT_PUSHED = 0
const PUSHED_NOW = 1
/** Waits for what a Vulcain selection leaves of `maxPushes`. */
const DEFERRED = 2
/** On the connection already: its entry says `nopush` too. */
const PROMISED_BEFORE = 3
type Decision = typeof NOT_PUSHED | typeof PUSHED_NOW | typeof DEFERRED | typeof PROMISED_BEFORE

/**
 * The native pushes of one response's links, claimed as the links are added (with the `push`
 * option): which paths this response pushes, which wait for the Vulcain selection to be
 * promised first, and which selected paths the connection has but whose next hop may be new.
 * Also made for a pushed response (no stream of its own, `state` null): the pusher of the
 * previous hop reads its `pushable` links and selections.
 */
export class PushClaims implements LinkObserver {
  /** The paths whose entry allows a push (no `nopush`). */
  readonly pushable: string[] = []
  /** The paths this response pushes natively, in order (their entries say `nopush`). */
  readonly pushes: string[] = []
  /** Pushes before this index are already promised. */
  flushedPushes = 0
  /** Selected paths this connection got before: their next hop may still be new (Vulcain). */
  readonly follows: string[] = []
  /** Links waiting for what the selection leaves of `maxPushes` (their entries say `nopush`). */
  readonly deferredPushes: string[] = []
  /** Paths a Vulcain `Preload` selected: their pushes are followed as deep as the selectors go. */
  private selectedPaths: Set<string> | null = null
  /**
   * Set when the client sent `Preload`: its selection is pushed first, the other links of the
   * response (`x-push`) only with the pushes left once the selection's hops are promised.
   */
  private deferUnselected = false
  /** The decision `willPush` made for the path being added, read by `added`. */
  private decision: Decision = NOT_PUSHED

  /** @param state the request's push state over HTTP/2, else null */
  constructor (readonly state: PushState | null) {}

  willPush (path: string, rule: LinkRule, selected: boolean): boolean {
    const state = this.state
    if (state === null || rule.nopush) {
      this.decision = NOT_PUSHED
      return false
    }
    // The order of the checks matters: `wasPromised` keeps the path recent on the connection.
    const deferred = !selected && this.deferUnselected && !state.wasPromised(path)
    this.decision = deferred ? DEFERRED : state.canClaim(path) ? PUSHED_NOW : state.wasPromised(path) ? PROMISED_BEFORE : NOT_PUSHED
    return this.decision !== NOT_PUSHED
  }

  added (path: string, rule: LinkRule, selected: boolean): void {
    const decision = this.decision
    this.decision = NOT_PUSHED
    if (!rule.nopush) this.pushable.push(path)
    if (decision === PUSHED_NOW) {
      (this.state as PushState).reserve(path)
      this.pushes.push(path)
    } else if (decision === DEFERRED) {
      this.deferredPushes.push(path)
    }
    if (selected) {
      this.select(path)
      if (decision === PROMISED_BEFORE) this.follows.push(path)
    }
  }

  repeated (path: string, selected: boolean): void {
    if (selected && !this.isSelected(path)) {
      this.select(path)
      // On the connection already (before, or pushed by reply.preload() without selectors): its
      // next hop may still be new. A push not promised yet carries the selectors itself.
      const waiting = this.pushes.indexOf(path) >= this.flushedPushes
      if (this.state?.wasPromised(path) === true && !waiting) this.follows.push(path)
    }
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
    if (this.state !== null) this.deferUnselected = true
  }

  /** Claims what the selection left of `maxPushes` for the deferred links; true if any was claimed. */
  claimDeferred (): boolean {
    const state = this.state as PushState
    const before = this.pushes.length
    for (const path of this.deferredPushes.splice(0)) if (state.claim(path)) this.pushes.push(path)
    return this.pushes.length > before
  }
}
