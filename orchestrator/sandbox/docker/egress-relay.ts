// A job's egress relay: a small container on two networks, the job's locked-down one and the one where the
// orchestrator's services are reachable (the default bridge, or the orchestrator's own container's network). On
// its address in the locked-down network it forwards each given port to one fixed service (the LLM gateway, the
// egress proxy) and does nothing else: the sandboxes' only way out. It runs the sandbox image's Node, hardened
// like a sandbox, as nobody.
import type Docker from "dockerode"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { demuxFrames } from "./frame-demuxer.ts"
import { HOST_ALIAS } from "./llm-endpoint.ts"

/** One forwarded port: the relay's `port` (on its locked-down address) to `host:targetPort`. */
export interface RelayTarget {
  port: number
  host: string
  targetPort: number
}

/**
 * The relay, for `node -e` (CommonJS): argv = subnet, then "port=host:targetPort" per target. It listens only on
 * its own address in the subnet, and prints {"listening": address} once every port is open.
 */
const RELAY_SCRIPT = `
const net = require("node:net")
const os = require("node:os")
const [subnet, ...forwards] = process.argv.slice(1)
const number = (ip) => ip.split(".").reduce((value, part) => value * 256 + Number(part), 0)
const [base, bits] = subnet.split("/")
const size = 2 ** (32 - Number(bits))
const first = number(base) - (number(base) % size)
const own = Object.values(os.networkInterfaces())
  .flat()
  .find((entry) => entry && entry.family === "IPv4" && number(entry.address) - first >= 0 && number(entry.address) - first < size)
if (!own) {
  console.error("perstack relay: no address in " + subnet)
  process.exit(1)
}
let pending = forwards.length
for (const forward of forwards) {
  const [, port, host, targetPort] = /^(\\d+)=(.+):(\\d+)$/.exec(forward)
  net
    .createServer((client) => {
      const upstream = net.connect(Number(targetPort), host)
      client.setNoDelay(true)
      upstream.setNoDelay(true)
      const close = () => {
        client.destroy()
        upstream.destroy()
      }
      for (const socket of [client, upstream]) {
        socket.on("error", close)
        socket.on("close", close)
      }
      client.pipe(upstream)
      upstream.pipe(client)
    })
    .listen(Number(port), own.address, () => {
      if (--pending === 0) console.log(JSON.stringify({ listening: own.address }))
    })
}
`

const READY_TIMEOUT_MS = 30_000

export interface RelayOptions {
  name: string
  image: string
  labels: Readonly<Record<string, string>>
  /** where the orchestrator's services are reachable: "bridge", or the orchestrator's container's network */
  homeNetwork: string
  /** the job's locked-down network */
  lockedNetwork: { id: string; subnet: string }
  targets: readonly RelayTarget[]
}

/** Creates and starts the relay; resolves with its container and its address on the locked-down network. */
export async function startRelay(
  docker: Docker,
  options: RelayOptions,
): Promise<{ container: Docker.Container; address: string }> {
  const container = await docker.createContainer({
    name: options.name,
    Image: options.image,
    Entrypoint: [],
    Cmd: [
      "node",
      "-e",
      RELAY_SCRIPT,
      options.lockedNetwork.subnet,
      ...options.targets.map((target) => `${target.port}=${target.host}:${target.targetPort}`),
    ],
    User: "65534:65534",
    Labels: { ...options.labels },
    Tty: false,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      Init: true,
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: 64,
      Memory: 256 * 1024 ** 2,
      MemorySwap: 256 * 1024 ** 2,
      NanoCpus: 1e9,
      NetworkMode: options.homeNetwork,
      // A gateway that listens on the host's loopback (Docker Desktop, a remote engine) is reached by this name.
      ExtraHosts: [`${HOST_ALIAS}:host-gateway`],
      LogConfig: { Type: "none", Config: {} },
    },
  })
  let stream: NodeJS.ReadableStream | undefined
  try {
    await docker.getNetwork(options.lockedNetwork.id).connect({ Container: container.id })
    stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream
    await container.start()
    const address = await readyAddress(stream, container)
    return { container, address }
  } catch (error) {
    await container.remove({ force: true }).catch(() => undefined)
    throw error
  } finally {
    ;(stream as { destroy?: () => void } | undefined)?.destroy?.()
  }
}

/** The relay's first stdout line names its address; an exit or silence before it is a failure, with its stderr. */
async function readyAddress(stream: NodeJS.ReadableStream, container: Docker.Container): Promise<string> {
  let stderr = ""
  let timer: NodeJS.Timeout | undefined
  const failed = (why: string) =>
    new PerstackError(
      "docker.relayFailed",
      `the job's egress relay ${why}${stderr.trim() ? `: ${stderr.trim().slice(-500)}` : ""}`,
    )
  const ready = (async () => {
    let line = ""
    for await (const chunk of demuxFrames(stream as AsyncIterable<Uint8Array>, (data) => {
      stderr += data.toString("utf8")
    })) {
      line += Buffer.from(chunk).toString("utf8")
      const newline = line.indexOf("\n")
      if (newline === -1) continue
      const parsed = JSON.parse(line.slice(0, newline)) as { listening?: unknown }
      if (typeof parsed.listening === "string") return parsed.listening
      break
    }
    throw failed("ended before it listened")
  })()
  // Aborted once the relay listens: nothing waits on a container that runs until the job ends.
  const watching = new AbortController()
  const exited = container
    .wait({ abortSignal: watching.signal })
    .then(({ StatusCode }: { StatusCode: number }) => {
      throw failed(`exited with ${StatusCode} before it listened`)
    })
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(failed(`did not listen within ${READY_TIMEOUT_MS / 1000} s`)),
      READY_TIMEOUT_MS,
    )
  })
  try {
    return await Promise.race([ready, exited, late])
  } finally {
    clearTimeout(timer)
    watching.abort()
    exited.catch(() => undefined)
    ready.catch(() => undefined)
  }
}
