import type { PurgeFailure, ResolvedPurge } from './options.js'
import { purgeRequests, sendPurge, type PurgeRequest } from './purgers.js'

/*
 * Purges as promises: every node gets every purge, in parallel; purges for one node within a
 * short window are merged into one batch (a write storm sends a few requests, not one per
 * write); a failed request is retried with doubling delays, a bounded number of times; what
 * could not be purged is reported, never dropped silently; the tags waiting or in flight per
 * node are bounded.
 */

/** What `fastify.pushRelations.purge()` resolves to (it never rejects). */
export interface PurgeResult {
  /** The tags purged, collections included. */
  readonly tags: readonly string[]
  /** What some node could not purge (empty when every node purged every tag). */
  readonly failures: readonly PurgeFailure[]
}

export interface PurgeStats {
  /** Tags asked for, per node. */
  tags: number
  /** Purge requests sent, retries included. */
  requests: number
  succeeded: number
  retries: number
  /** Failures reported (each one: some tags on one node). */
  failures: number
  failedTags: number
  /** Tags waiting or in flight now, all nodes together. */
  pending: number
}

/** Longest delay between two attempts, however many retries are allowed. */
const MAX_RETRY_DELAY = 30_000

class NodeQueue {
  private readonly pending = new Set<string>()
  private waiters: Array<(failures: PurgeFailure[]) => void> = []
  private timer: NodeJS.Timeout | null = null
  /** Tags of the batches being sent. */
  inFlight = 0
  readonly batches = new Set<Promise<void>>()

  constructor (private readonly url: URL, private readonly queue: PurgeQueue, private readonly config: ResolvedPurge) {}

  get size (): number {
    return this.pending.size + this.inFlight
  }

  enqueue (tags: readonly string[]): Promise<PurgeFailure[]> {
    const refused: string[] = []
    let queued = false
    for (const tag of tags) {
      if (!this.pending.has(tag) && this.size >= this.config.maxQueue) {
        refused.push(tag)
      } else {
        this.pending.add(tag)
        queued = true
      }
    }
    const failures = refused.length === 0
      ? []
      : [this.queue.fail(this.url, refused, 0, new Error(`purge queue full (maxQueue ${this.config.maxQueue})`))]
    // Nothing of this call waits: it is answered at once.
    if (!queued) return Promise.resolve(failures)
    return new Promise((resolve) => {
      this.waiters.push((batchFailures) => { resolve([...failures, ...batchFailures]) })
      if (this.queue.closing) this.flush()
      else this.timer ??= setTimeout(() => { this.flush() }, this.config.window)
    })
  }

  /** Sends what is waiting now, as one batch. */
  flush (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (this.pending.size === 0) return
    const tags = [...this.pending]
    this.pending.clear()
    const waiters = this.waiters
    this.waiters = []
    this.inFlight += tags.length
    const batch: Promise<void> = this.send(tags).then((failures) => {
      this.inFlight -= tags.length
      this.batches.delete(batch)
      for (const waiter of waiters) waiter(failures)
    })
    this.batches.add(batch)
  }

  private async send (tags: string[]): Promise<PurgeFailure[]> {
    const { requests, oversized } = purgeRequests(tags, this.config)
    const failures = oversized.length === 0
      ? []
      : [this.queue.fail(this.url, oversized, 0, new Error(`tag longer than maxHeaderBytes (${this.config.maxHeaderBytes})`))]
    for (const failure of await Promise.all(requests.map((request) => this.attempt(request)))) {
      if (failure !== null) failures.push(failure)
    }
    return failures
  }

  private async attempt (request: PurgeRequest): Promise<PurgeFailure | null> {
    let attempts = 1
    let error = await this.sendOnce(request)
    let delay = this.config.retryDelay
    while (error !== null && attempts <= this.config.retries && !this.queue.aborted) {
      this.queue.stats.retries++
      await this.queue.sleep(delay)
      if (this.queue.aborted) {
        error = new Error('fastify.close() stopped waiting for this purge')
        break
      }
      delay = Math.min(delay * 2, MAX_RETRY_DELAY)
      attempts++
      error = await this.sendOnce(request)
    }
    return error === null ? null : this.queue.fail(this.url, request.tags, attempts, error)
  }

  /** One request; the error when it failed. */
  private async sendOnce (request: PurgeRequest): Promise<Error | null> {
    const { stats } = this.queue
    stats.requests++
    try {
      await sendPurge(this.url, request, this.config.timeout)
      stats.succeeded++
      return null
    } catch (error) {
      return error as Error
    }
  }
}

export class PurgeQueue {
  readonly stats: PurgeStats = { tags: 0, requests: 0, succeeded: 0, retries: 0, failures: 0, failedTags: 0, pending: 0 }
  /** Set by close(): batches are sent at once. */
  closing = false
  /** Set when close() stopped waiting: retries give up. */
  aborted = false
  private readonly nodes: NodeQueue[]
  private readonly sleepers = new Set<() => void>()

  constructor (private readonly config: ResolvedPurge, private readonly report: (failure: PurgeFailure) => void) {
    this.nodes = config.urls.map((url) => new NodeQueue(url, this, config))
  }

  /** Purges `tags` from every node; resolves when every node purged them or gave up. */
  async purge (tags: readonly string[]): Promise<PurgeResult> {
    if (tags.length === 0 || this.nodes.length === 0) return { tags, failures: [] }
    this.stats.tags += tags.length * this.nodes.length
    const failures = await Promise.all(this.nodes.map((node) => node.enqueue(tags)))
    return { tags, failures: failures.flat() }
  }

  /** Counts and reports what one node could not purge. */
  fail (url: URL, tags: readonly string[], attempts: number, error: Error): PurgeFailure {
    this.stats.failures++
    this.stats.failedTags += tags.length
    const failure: PurgeFailure = { url: url.href, tags, attempts, error }
    this.report(failure)
    return failure
  }

  /** A retry delay; cut short when close() stops waiting. The timer does not hold the process open. */
  sleep (ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer)
        this.sleepers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      timer.unref()
      this.sleepers.add(wake)
    })
  }

  currentStats (): PurgeStats {
    return { ...this.stats, pending: this.nodes.reduce((sum, node) => sum + node.size, 0) }
  }

  /** Sends what waits, then waits for the batches in flight, at most `closeTimeout` ms. */
  async close (): Promise<void> {
    this.closing = true
    for (const node of this.nodes) node.flush()
    const batches = Promise.all(this.nodes.flatMap((node) => [...node.batches]))
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => { resolve(true) }, this.config.closeTimeout) })
    const late = await Promise.race([batches.then(() => false), timedOut])
    clearTimeout(timer)
    if (late) {
      // Retries waiting for their delay give up (and are reported) now; a request on the wire
      // ends by its own timeout.
      this.aborted = true
      for (const wake of [...this.sleepers]) wake()
    }
  }
}
