// Follows a pod's log through the API, line by line, and survives a dropped stream: each line comes with the
// kubelet's timestamp, a reconnection asks for the lines since the last one seen, and the lines already given are
// skipped by (timestamp, count at that timestamp), so nothing is lost and nothing repeated.
// Our own request (node:http/https, with the credentials client-node's KubeConfig applies) rather than
// client-node's `Log`: that one pipes the response without an error handler, so a dropped connection would
// surface as an uncaught stream error, and it reads no error body but a 500's.
import http from "node:http"
import https from "node:https"
import type { KubeConfig } from "@kubernetes/client-node"
import { kubeApiError } from "./api-errors.ts"

export interface LogTarget {
  namespace: string
  pod: string
  container: string
}

/** The container's state as the follower needs it: still writing, or ended (its log is complete). */
export type ContainerState = "waiting" | "running" | "ended"

export interface FollowOptions {
  kubeConfig: KubeConfig
  target: LogTarget
  /** asked after the stream ends: a running container means the stream dropped */
  state(): Promise<ContainerState>
  /** stops following (the sandbox was disposed) */
  signal?: AbortSignal
  /** ms between reconnection attempts (default 200) */
  retryMs?: number
  /** called for each reconnection, for tests and --verbose */
  onResume?(since: string): void
}

/** Nanoseconds since the epoch of an RFC 3339 timestamp with up to 9 fractional digits. */
export function timestampNs(text: string): bigint | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text)
  if (!match) return undefined
  const seconds = Date.parse(`${match[1]}${match[3]}`)
  if (Number.isNaN(seconds)) return undefined
  const fraction = BigInt((match[2] ?? "").padEnd(9, "0"))
  return BigInt(seconds) * 1_000_000n + fraction
}

/**
 * The container runtime cuts a long line into 16 KiB pieces, and the kubelet, asked for timestamps, prefixes every
 * piece with one: a 40 KB event arrives as `<ts> <16 KiB><ts> <16 KiB><ts> <rest>\n` (measured on 1.20 with Docker's
 * json-file; containerd's CRI log cuts at the same size). The prefixes inside a line are taken out here.
 */
const PIECE = 16 * 1024
const PREFIX = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}) /

export function joinPartials(content: Buffer): Buffer {
  if (content.length <= PIECE) return content
  const pieces: Buffer[] = []
  let rest = content
  while (rest.length > PIECE) {
    const prefix = PREFIX.exec(rest.subarray(PIECE, PIECE + 40).toString("latin1"))
    if (!prefix) break
    pieces.push(rest.subarray(0, PIECE))
    rest = rest.subarray(PIECE + prefix[0].length)
  }
  pieces.push(rest)
  return pieces.length === 1 ? content : Buffer.concat(pieces)
}

/** Where the reader is: the last timestamp given and how many lines carried it. */
interface Position {
  at?: bigint
  text?: string
  count: number
}

class LogLineReader {
  private pending: Buffer = Buffer.alloc(0)
  private readonly skipping: Position
  private readonly position: Position
  private readonly emit: (line: Buffer) => void
  constructor(position: Position, emit: (line: Buffer) => void) {
    this.position = position
    this.emit = emit
    // Lines at the resume point already given are skipped, once each.
    this.skipping = { ...position }
  }

  push(chunk: Buffer) {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    let start = 0
    for (
      let newline = this.pending.indexOf(0x0a);
      newline !== -1;
      newline = this.pending.indexOf(0x0a, start)
    ) {
      this.line(this.pending.subarray(start, newline + 1))
      start = newline + 1
    }
    this.pending = this.pending.subarray(start)
  }

  /** The end of a complete log: a last line without a newline is still a line. */
  flush() {
    if (this.pending.length > 0) this.line(Buffer.concat([this.pending, Buffer.from("\n")]))
    this.pending = Buffer.alloc(0)
  }

  private line(raw: Buffer) {
    const space = raw.indexOf(0x20)
    const stamp = space > 0 ? raw.subarray(0, space).toString("latin1") : ""
    const at = timestampNs(stamp)
    if (at === undefined) {
      // Not a timestamped line (a server that ignored timestamps=true): passed on as it is.
      this.emit(raw)
      return
    }
    const { skipping } = this
    if (skipping.at !== undefined) {
      if (at < skipping.at) return
      if (at === skipping.at && skipping.count > 0) {
        skipping.count--
        return
      }
      if (at > skipping.at) skipping.at = undefined
    }
    if (this.position.at === at) this.position.count++
    else Object.assign(this.position, { at, text: stamp, count: 1 })
    this.emit(joinPartials(raw.subarray(space + 1)))
  }
}

async function open(
  options: FollowOptions,
  follow: boolean,
  since: string | undefined,
): Promise<http.IncomingMessage> {
  const cluster = options.kubeConfig.getCurrentCluster()
  if (!cluster) throw new Error("the kubeconfig has no current cluster")
  const { namespace, pod, container } = options.target
  const url = new URL(`${cluster.server.replace(/\/$/, "")}/api/v1/namespaces/${namespace}/pods/${pod}/log`)
  url.searchParams.set("container", container)
  url.searchParams.set("timestamps", "true")
  if (follow) url.searchParams.set("follow", "true")
  // sinceTime has whole seconds on the server side: the reader skips what it has already given.
  if (since) url.searchParams.set("sinceTime", `${since.slice(0, 19)}Z`)
  const requestOptions: https.RequestOptions = { method: "GET", headers: {} }
  await options.kubeConfig.applyToHTTPSOptions(requestOptions)
  const client = url.protocol === "https:" ? https : http
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      ...requestOptions,
      ...(options.signal ? { signal: options.signal } : {}),
    })
    request.on("response", resolve)
    request.on("error", reject)
    request.end()
  })
}

async function errorBody(response: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString("utf8")
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener("abort", () => {
      clearTimeout(timer)
      resolve()
    })
  })

/** The pod's log as raw NDJSON bytes (timestamps removed), from its first line to its last. */
export async function* followLog(options: FollowOptions): AsyncGenerator<Buffer> {
  const position: Position = { count: 0 }
  const retryMs = options.retryMs ?? 200
  const { namespace, pod } = options.target
  const server = options.kubeConfig.getCurrentCluster()?.server ?? "?"
  let resumed = false
  for (;;) {
    if (options.signal?.aborted) return
    // Following a container that has ended returns its whole log and ends: the same request reads the rest.
    const ended = (await options.state()) === "ended"
    const queue: Buffer[] = []
    const reader = new LogLineReader(position, (line) => queue.push(line))
    let response: http.IncomingMessage
    try {
      if (resumed && position.text) options.onResume?.(position.text)
      response = await open(options, !ended, position.text)
    } catch (error) {
      if (options.signal?.aborted) return
      if (ended)
        throw kubeApiError(error, { verb: "get", resource: "pods/log", name: pod, namespace }, server)
      resumed = true
      await sleep(retryMs, options.signal)
      continue
    }
    if (response.statusCode !== 200) {
      const body = await errorBody(response).catch(() => "")
      // Ended and deleted (a stopped run, a deadline): its log went with it; the stream gave what there was.
      if (ended && response.statusCode === 404) {
        reader.flush()
        while (queue.length > 0) yield queue.shift() as Buffer
        return
      }
      // A container not started yet (400 "waiting to start"), or gone with its pod: ask its state again.
      if (
        !ended &&
        (response.statusCode === 400 || response.statusCode === 404 || (response.statusCode ?? 0) >= 500)
      ) {
        await sleep(retryMs, options.signal)
        continue
      }
      throw kubeApiError(
        Object.assign(new Error(body), { code: response.statusCode, body }),
        { verb: "get", resource: "pods/log", name: pod, namespace },
        server,
      )
    }
    try {
      for await (const chunk of response) {
        reader.push(chunk as Buffer)
        while (queue.length > 0) yield queue.shift() as Buffer
      }
    } catch {
      // Dropped: the state decides whether that was the end.
    }
    while (queue.length > 0) yield queue.shift() as Buffer
    if (ended) {
      reader.flush()
      while (queue.length > 0) yield queue.shift() as Buffer
      return
    }
    // The stream ended: the container ended too (one more read, non-following, picks up anything the stream
    // had not delivered yet), or the connection dropped and the next round resumes from the last line.
    resumed = true
    if ((await options.state()) !== "ended") await sleep(retryMs, options.signal)
  }
}
