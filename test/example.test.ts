import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { spawn } from 'node:child_process'
import { join } from 'node:path'

import * as implementation from '../lib/index.js'
import { uncoveredChildEnv } from './helpers/child-env.js'

type Bookshop = typeof import('../example/bookshop.mjs')

/** The example as users run it, with the package name mapped to this checkout's sources. */
const example = t.mockImport<Bookshop>('../example/bookshop.mjs', { 'fastify-push-relations': implementation })

async function bookshop (options?: Parameters<Bookshop['buildBookshop']>[0]): Promise<FastifyInstance> {
  return await (await example).buildBookshop(options)
}

const entry = (path: string): string => `<${path}>; rel=preload; as=fetch`

t.test('GET /books/1 links its author, reviews and publisher', async (t) => {
  const app = await bookshop()
  const response = await app.inject('/books/1')
  t.equal(response.statusCode, 200)
  t.equal(response.headers.link, ['/authors/1', '/reviews/1', '/reviews/2', '/publishers/1'].map(entry).join(', '))
})

t.test('options reach Fastify and the plugin', async (t) => {
  const app = await bookshop({ fastify: { exposeHeadRoutes: false }, pushRelations: { as: 'document', maxLinks: 1 } })
  t.equal((await app.inject('/books/1')).headers.link, '</authors/1>; rel=preload; as=document')
  t.equal((await app.inject({ method: 'HEAD', url: '/books/1' })).statusCode, 404)
})

t.test('GET /books/2 also links its series through the template', async (t) => {
  const app = await bookshop()
  t.equal((await app.inject('/books/2')).headers.link, ['/authors/2', '/reviews/3', '/publishers/2', '/series/1'].map(entry).join(', '))
})

t.test('the collection links the relations of every member, once each', async (t) => {
  const app = await bookshop()
  const response = await app.inject('/books')
  t.equal(response.json().totalItems, 2)
  t.equal(response.headers.link, ['/authors/1', '/reviews/1', '/reviews/2', '/publishers/1', '/authors/2', '/reviews/3', '/publishers/2', '/series/1'].map(entry).join(', '))
})

t.test('every linked resource exists, and links back where its schema says so', async (t) => {
  const app = await bookshop()
  for (const path of ['/authors/1', '/authors/2', '/reviews/1', '/reviews/3', '/publishers/1', '/series/1']) {
    t.equal((await app.inject(path)).statusCode, 200, path)
  }
  t.equal((await app.inject('/reviews/1')).headers.link, entry('/books/1'))
  t.equal((await app.inject('/books/9')).statusCode, 404)
  t.equal((await app.inject('/books/9')).headers.link, undefined)
  t.same(app.pushRelations.routes().filter((route) => route.method === 'GET').map((route) => [route.url, route.responses[0]?.pointers]), [
    ['/books', ['/member/*/author', '/member/*/reviews', '/member/*/publisher', '/member/*/seriesId']],
    ['/books/:id', ['/author', '/reviews', '/publisher', '/seriesId']],
    ['/reviews/:id', ['/book']]
  ])
})

t.test('authors and publishers can be renamed; the books embed the new publisher name', async (t) => {
  const app = await bookshop()
  const renamed = await app.inject({ method: 'PUT', url: '/authors/1', payload: { name: 'Eric Blair' } })
  t.same(renamed.json(), { '@id': '/authors/1', name: 'Eric Blair' })
  t.equal((await app.inject('/authors/1')).json().name, 'Eric Blair')
  await app.inject({ method: 'PUT', url: '/publishers/1', payload: { name: 'Secker' } })
  t.equal((await app.inject('/books/1')).json().publisher.name, 'Secker')
  t.equal((await app.inject({ method: 'PUT', url: '/authors/9', payload: { name: 'x' } })).statusCode, 404)
  t.equal((await app.inject({ method: 'PUT', url: '/publishers/1', payload: { name: '' } })).statusCode, 400)
  t.equal((await (await bookshop()).inject('/authors/1')).json().name, 'George Orwell', 'each app has its own data')
})

t.test('npm start serves the bookshop and prints how to see the links', { timeout: 30_000 }, async (t) => {
  const child = spawn(process.execPath, [join(__dirname, '..', 'example', 'server.mjs')], {
    // No coverage recorded: this runs the built package (dist), whose sources other tests cover.
    env: uncoveredChildEnv({ PORT: '0', LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'pipe', 'inherit']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  let output = ''
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match !== null) resolve(match[1] as string)
    })
    child.once('exit', (code) => { reject(new Error(`exited with ${String(code)}: ${output}`)) })
  })
  t.match(output, `curl -sI ${address}/books/1`)
  const response = await fetch(`${address}/books/1`)
  t.equal(response.status, 200)
  t.equal(response.headers.get('link'), ['/authors/1', '/reviews/1', '/reviews/2', '/publishers/1'].map(entry).join(', '))
  const vulcain = await fetch(`${address}/books/1`, { headers: { fields: '"/title", "/author"', preload: '"/author"' } })
  t.same(await vulcain.json(), { title: 'Nineteen Eighty-Four', author: '/authors/1' }, 'the example speaks Vulcain')
  t.match(output, "-H 'Fields: \"/title\", \"/author\"'")
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'stops cleanly on SIGTERM')
})
