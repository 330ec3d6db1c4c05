import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { Writable } from 'node:stream'
import pushRelations, { type PushRelationsOptions } from '../../lib/index.js'

/** A log line as pino writes it. */
export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

/** Fastify with the plugin registered and a logger whose lines the test can read. */
export async function buildApp (options: PushRelationsOptions = {}, fastifyOptions: FastifyServerOptions = {}): Promise<{ app: FastifyInstance, logs: LogLine[] }> {
  const logs: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine)
      callback()
    }
  })
  const app = Fastify({ logger: { level: 'debug', stream }, ...fastifyOptions })
  await app.register(pushRelations, options)
  return { app, logs }
}
