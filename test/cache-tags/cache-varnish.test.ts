// End to end: the example bookshop behind two real Varnish 7.1 nodes, with the VCL that
// docs/caching.md shows (BAN and xkey), started here (`varnishd -F`, temp -n folder, no
// admin port). Reads are cache hits on both nodes; writes purge both, after or before their
// response; a node that does not answer gets the purge when it comes back within the retry
// window, and the failure is reported when it does not.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { existsSync, readdirSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import * as implementation from '../../lib/index.js'
import type { PurgeFailure, PurgeOptions } from '../../lib/cache-tags/options.js'
import { skipWithoutBinaries, type SkipTarget } from '../helpers/binaries.js'
import { startVarnish, vclFor, type VarnishNode, type VclKind } from '../helpers/varnish.js'

type Bookshop = typeof import('../../example/bookshop.mjs')

/** The xkey vmod, from Debian's varnish-modules. */
function hasXkey (): boolean {
  const lib = '/usr/lib'
  return readdirSync(lib).some((arch) => existsSync(path.join(lib, arch, 'varnish', 'vmods', 'libvmod_xkey.so')))
}

function skipWithoutXkey (t: SkipTarget, env: NodeJS.ProcessEnv = process.env): boolean {
  if (hasXkey()) return false
  const message = 'missing the xkey vmod: apt-get install varnish-modules'
  if (env['CI'] === undefined || env['CI'] === '') t.plan(0, message)
  else t.fail(`${message} (CI is set, so this fails instead of skipping)`)
  return true
}

interface Answer { status: number, headers: http.IncomingHttpHeaders, body: string }

/** One request through a node, with its own Host: each test has its own cache entries. */
function request (node: VarnishNode, host: string, urlPath: string, method = 'GET', body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const outgoing = http.request({ host: '127.0.0.1', port: node.port, path: urlPath, method, agent: false, headers: { host, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) } }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { text += chunk })
      response.on('end', () => { resolve({ status: response.statusCode as number, headers: response.headers, body: text }) })
    })
    outgoing.on('error', reject)
    outgoing.end(payload)
  })
}

/** Varnish's X-Varnish holds two transaction ids on a hit, one on a miss. */
function isHit (answer: Answer): boolean {
  return String(answer.headers['x-varnish']).trim().split(/\s+/).length === 2
}

async function waitFor (condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return
    await sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * One backend port for the whole kind, so that the VCL is written once: it hands each request
 * to the app of the running test.
 */
interface Tier {
  nodes: [VarnishNode, VarnishNode]
  use (app: FastifyInstance): void
}

async function startTier (t: Test, kind: VclKind): Promise<Tier> {
  let current: FastifyInstance | null = null
  const server = http.createServer((req, res) => {
    if (current === null) res.writeHead(503).end()
    else current.routing(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve() }) }))
  const { port } = server.address() as AddressInfo
  const nodes = await Promise.all([startVarnish(vclFor(kind, port)), startVarnish(vclFor(kind, port))])
  t.teardown(() => Promise.all(nodes.map((node) => node.stop())))
  return { nodes, use: (app) => { current = app } }
}

/** The example as users run it, with the package name mapped to this checkout's sources (loaded once). */
const example = t.mockImport<Bookshop>('../../example/bookshop.mjs', { 'fastify-push-relations': implementation })

async function bookshop (t: Test, tier: Tier, purge: PurgeOptions): Promise<FastifyInstance> {
  const { buildBookshop } = await example
  const app = await buildBookshop({
    fastify: { logger: { level: 'silent' } },
    pushRelations: { cacheTags: { purge: { urls: tier.nodes.map((node) => node.url), window: 5, ...purge } } }
  })
  await app.ready()
  tier.use(app)
  t.teardown(() => app.close())
  return app
}

/** Reads `paths` twice through every node: a miss, then a hit. */
async function warm (t: Test, tier: Tier, host: string, paths: string[]): Promise<void> {
  for (const node of tier.nodes) {
    for (const urlPath of paths) {
      const first = await request(node, host, urlPath)
      t.equal(first.status, 200, `${urlPath} on :${node.port}`)
      t.notOk(isHit(first), `first GET ${urlPath} on :${node.port} is a miss`)
      t.ok(isHit(await request(node, host, urlPath)), `second GET ${urlPath} on :${node.port} is a hit`)
    }
  }
}

for (const kind of ['ban', 'xkey'] as const) {
  t.test(`${kind}: two Varnish nodes in front of the bookshop`, async (t) => {
    if (skipWithoutBinaries(t, ['varnishd'])) return
    if (kind === 'xkey' && skipWithoutXkey(t)) return
    const tier = await startTier(t, kind)
    const [one, two] = tier.nodes

    for (const mode of ['after-response', 'before-response'] as const) {
      t.test(`a write purges what embeds it on both nodes, ${mode}`, async (t) => {
        const host = `${kind}-${mode}.test`
        const app = await bookshop(t, tier, { kind, mode })
        await warm(t, tier, host, ['/books/1', '/authors/1', '/books', '/publishers/2'])

        const put = await request(one, host, '/authors/1', 'PUT', { name: 'Eric Blair' })
        t.equal(put.status, 200)
        if (mode === 'before-response') {
          t.equal(app.pushRelations.stats().cacheTags?.purges.succeeded, 2, 'both nodes purged before the response')
        } else {
          await waitFor(() => app.pushRelations.stats().cacheTags?.purges.succeeded === 2, 'both purges')
        }
        for (const node of tier.nodes) {
          const author = await request(node, host, '/authors/1')
          t.notOk(isHit(author), `/authors/1 fetched again on :${node.port}`)
          t.equal(JSON.parse(author.body).name, 'Eric Blair')
          t.notOk(isHit(await request(node, host, '/books/1')), `/books/1 (relation /authors/1) fetched again on :${node.port}`)
          t.notOk(isHit(await request(node, host, '/books')), `/books fetched again on :${node.port}`)
          t.ok(isHit(await request(node, host, '/publishers/2')), `/publishers/2 still cached on :${node.port}`)
        }

        // An embedded resource: the books show the publisher's new name at once.
        t.equal(JSON.parse((await request(two, host, '/books/1')).body).publisher.name, 'Secker & Warburg')
        await request(two, host, '/publishers/1', 'PUT', { name: 'Secker' })
        if (mode === 'after-response') await waitFor(() => app.pushRelations.stats().cacheTags?.purges.succeeded === 4, 'both purges')
        for (const node of tier.nodes) {
          t.equal(JSON.parse((await request(node, host, '/books/1')).body).publisher.name, 'Secker', `/books/1 fresh on :${node.port}`)
          t.equal(JSON.parse((await request(node, host, '/books')).body).member[0].publisher.name, 'Secker', `/books fresh on :${node.port}`)
        }
        t.equal(app.pushRelations.stats().cacheTags?.purges.failures, 0)
        // Regex metacharacters and sub-delimiters in a tag: Varnish takes the purge as it is.
        t.same((await app.pushRelations.purge(["/files/a'&b(c)*+$.x;y=1"])).failures, [])
      })
    }

    t.test('a node that comes back within the retry window gets the purge', async (t) => {
      const host = `${kind}-back.test`
      const failures: PurgeFailure[] = []
      const app = await bookshop(t, tier, { kind, timeout: 100, retries: 6, retryDelay: 50, onPurgeError: (failure) => { failures.push(failure) } })
      await warm(t, tier, host, ['/authors/2'])
      two.pause()
      t.teardown(() => { two.resume() })
      t.equal((await request(one, host, '/authors/2', 'PUT', { name: 'Peggy' })).status, 200)
      await waitFor(() => app.pushRelations.stats().cacheTags?.purges.retries !== 0, 'a retry')
      two.resume()
      await waitFor(() => app.pushRelations.stats().cacheTags?.purges.pending === 0, 'the purges')
      t.same(failures, [], 'nothing reported')
      const stats = app.pushRelations.stats().cacheTags?.purges
      t.ok(stats !== undefined && stats.succeeded === 2 && stats.retries > 0, 'the paused node got it on a retry')
      for (const node of tier.nodes) {
        const author = await request(node, host, '/authors/2')
        t.notOk(isHit(author), `/authors/2 fetched again on :${node.port}`)
        t.equal(JSON.parse(author.body).name, 'Peggy')
      }
    })

    t.test('a node that does not come back is reported, with the tags', async (t) => {
      const host = `${kind}-gone.test`
      const failures: PurgeFailure[] = []
      const app = await bookshop(t, tier, { kind, timeout: 50, retries: 2, retryDelay: 20, onPurgeError: (failure) => { failures.push(failure) } })
      two.pause()
      t.teardown(() => { two.resume() })
      t.equal((await request(one, host, '/authors/2', 'PUT', { name: 'Margaret' })).status, 200)
      await waitFor(() => failures.length > 0, 'the failure')
      two.resume()
      t.equal(failures.length, 1)
      t.equal(failures[0]?.url, two.url)
      t.equal(failures[0]?.attempts, 3)
      t.same([...(failures[0]?.tags ?? [])].sort(), ['/authors', '/authors/2'])
      const stats = app.pushRelations.stats().cacheTags?.purges
      t.equal(stats?.failures, 1)
      t.equal(stats?.succeeded, 1, 'the other node was purged')
    })
  })
}
