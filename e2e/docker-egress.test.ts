// Egress lockdown on the real engine: a sandbox on its job's locked-down network reaches the LLM through the
// gateway, its Expert's allowed domains through the egress proxy, and nothing else.
import { copyFile } from "node:fs/promises"
import net, { type AddressInfo } from "node:net"
import { networkInterfaces } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseConfigText } from "../orchestrator/config/load-config.ts"
import type { EgressLookup } from "../orchestrator/gateway/egress-admission.ts"
import { runJob } from "../orchestrator/job/run-job.ts"
import { resolveSettings } from "../orchestrator/job/settings.ts"
import { LABEL } from "../orchestrator/sandbox/docker/labels.ts"
import { startExpertScript } from "../orchestrator/testing/expert-script.ts"
import type { PerstackEvent } from "../runtime/protocol/events/index.ts"
import {
  docker,
  dockerBackend,
  ensureImages,
  eventuallyNone,
  SESSION,
  sessionContainers,
  sessionNetworks,
  sweepSession,
  userWorkspace,
} from "./support/docker-session.ts"

const fixtures = path.join(import.meta.dirname, "support/fixtures")

/** A TCP server on every host address: what a sandbox must not reach. Counts who got through. */
async function hostServer() {
  const server = net.createServer((socket) => {
    accepted++
    socket.on("error", () => {})
    socket.end("you got through\n")
  })
  let accepted = 0
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve))
  return {
    port: (server.address() as AddressInfo).port,
    get accepted() {
      return accepted
    },
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** An echo server on the host's loopback: the stand-in for an allowed domain on the internet. */
async function echoServer() {
  const server = net.createServer((socket) => {
    socket.on("error", () => {})
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as AddressInfo).port,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** The host's own non-loopback, non-Docker address (eth0's), if it has one. */
function hostLanAddress(): string | undefined {
  return Object.entries(networkInterfaces())
    .filter(([name]) => !name.startsWith("docker") && !name.startsWith("br-") && !name.startsWith("veth"))
    .flatMap(([, addresses]) => addresses ?? [])
    .find((address) => address.family === "IPv4" && !address.internal)?.address
}

/** The stdout of the first exec tool result among the job's events, as the probe's JSON. */
function probeResults(events: PerstackEvent[]): Record<string, string> {
  for (const event of events) {
    if (event.type !== "resolveToolResults") continue
    const part = event.toolResults[0]?.result[0]
    if (part?.type !== "textPart") continue
    const stdout = (JSON.parse(part.text) as { stdout?: string }).stdout ?? ""
    return JSON.parse(stdout) as Record<string, string>
  }
  throw new Error("no exec result in the job's events")
}

const toml = (llmUrl: string, network?: string) => `[provider]
providerName = "openai"
[provider.setting]
baseUrl = "${llmUrl}"

[experts."prober"]
instruction = "Probe the network."
${network ? `[experts."prober".sandbox]\nnetwork = "${network}"\n` : ""}[experts."prober".skills."reach"]
type = "mcpStdioSkill"
command = "node"
args = ["/workspace/quiet-mcp-server.cjs"]
allowedDomains = ["allowed.test", "*.wild.test"]
`

beforeAll(() => ensureImages())
afterAll(sweepSession)

let jobs = 0

async function probeJob(options: {
  network?: string
  tcp: string[]
  connect?: string[]
  lookup?: EgressLookup
  ports?: number[]
}) {
  const ws = await userWorkspace()
  await copyFile(path.join(fixtures, "egress-probe.cjs"), path.join(ws.dir, "egress-probe.cjs"))
  await copyFile(path.join(fixtures, "quiet-mcp-server.cjs"), path.join(ws.dir, "quiet-mcp-server.cjs"))
  // On the host's loopback, demanding the real key: a sandbox reaches it only through the gateway.
  const llm = await startExpertScript(
    {
      prober: [
        {
          toolCalls: [
            {
              name: "exec",
              arguments: {
                command: "node",
                args: [
                  "egress-probe.cjs",
                  ...options.tcp,
                  ...(options.connect ? ["--connect", ...options.connect] : []),
                ],
                timeout: 60_000,
              },
            },
          ],
        },
        { text: "probed" },
      ],
    },
    { apiKey: "sk-egress" },
  )
  const jobId = `egress-${SESSION.slice(0, 8)}-${++jobs}`
  const { config } = parseConfigText(toml(llm.url, options.network), "perstack.toml")
  const events: PerstackEvent[] = []
  const networksDuring: string[] = []
  await using backend = dockerBackend()
  const result = await runJob({
    config,
    expertKey: "prober",
    query: "Go",
    jobId,
    workspace: ws.dir,
    backend,
    settings: resolveSettings(config, { maxRetries: 0, reasoningBudget: "none", sandbox: "docker" }),
    env: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-egress" },
    onEvent: async (event) => {
      events.push(event)
      if (event.type === "sandboxStarted") {
        const [info] = await sessionContainers({ [LABEL.job]: jobId, [LABEL.run]: event.runId })
        if (info) networksDuring.push(...Object.keys(info.NetworkSettings.Networks))
      }
    },
    ...(options.lookup
      ? {
          egressProxy: { lookup: options.lookup, ports: options.ports ?? [443], allowLoopbackForTests: true },
        }
      : {}),
  })
  return {
    result,
    events,
    jobId,
    networksDuring,
    llm,
    async [Symbol.asyncDispose]() {
      await llm.close()
      await ws[Symbol.asyncDispose]()
    },
  }
}

describe('egress lockdown (network = "gateway", the default with the gateway)', () => {
  it("a sandbox reaches the LLM through the gateway and its allowed domains through the proxy; any other address fails", async () => {
    await using forbidden = await hostServer()
    await using allowed = await echoServer()
    const bridge = await dockerBackend().hostAddress?.()
    const lan = hostLanAddress()
    const lookup: EgressLookup = async (name) => {
      if (name === "allowed.test" || name === "api.wild.test") return [{ address: "127.0.0.1" }]
      if (name === "inward.wild.test") return [{ address: "10.1.2.3" }]
      throw Object.assign(new Error("not found"), { code: "ENOTFOUND" })
    }
    await using job = await probeJob({
      tcp: [
        `hostServerOnBridge=${bridge}:${forbidden.port}`,
        ...(lan ? [`hostServerOnLan=${lan}:${forbidden.port}`] : []),
        "public=1.1.1.1:443",
        "publicDns=8.8.8.8:53",
      ],
      connect: [
        `allowed=allowed.test:${allowed.port}`,
        `wildcard=api.wild.test:${allowed.port}`,
        "notAllowed=example.org:443",
        `inward=inward.wild.test:${allowed.port}`,
      ],
      lookup,
      ports: [443, allowed.port],
    })

    // The LLM answered through the gateway (the only holder of its key), and the job completed.
    expect({ status: job.result.status, error: job.result.error, text: job.result.text }).toEqual({
      status: "completed",
      error: undefined,
      text: "probed",
    })
    expect(job.llm.requests).toHaveLength(2)
    expect(job.networksDuring).toHaveLength(1)
    expect(job.networksDuring[0]).toMatch(/^perstack-egress-egress-/)

    const probed = probeResults(job.events)
    const ways = [
      "hostServerOnBridge",
      "hostServerOnLan",
      "hostServerViaRoute",
      "gatewayDirect",
      "public",
      "publicDns",
    ]
    for (const name of ways) {
      if (probed[name] !== undefined) expect({ [name]: probed[name] }).not.toEqual({ [name]: "connected" })
    }
    expect(Object.keys(probed)).toEqual(
      expect.arrayContaining(["hostServerOnBridge", "gatewayDirect", "public"]),
    )
    expect(forbidden.accepted).toBe(0)
    // No outside name resolves on the network: the proxy resolves, the sandbox does not.
    expect(probed.dns).not.toMatch(/^\d/)
    expect(probed).toMatchObject({
      proxyVariable: "set",
      allowed: "200 ping",
      wildcard: "200 ping",
      notAllowed: expect.stringMatching(/^403 .*example\.org is not one of this run's allowed domains/),
      inward: expect.stringMatching(/^403 .*resolves to 10\.1\.2\.3, a private address/),
    })

    // The job's network and relay went with it.
    expect(await eventuallyNone(() => sessionContainers({ [LABEL.job]: job.jobId }))).toEqual([])
    expect(await sessionNetworks({ [LABEL.job]: job.jobId })).toEqual([])
  })

  it('network = "open" is the default bridge, as before the lockdown: the host server answers', async () => {
    await using reachable = await hostServer()
    const bridge = await dockerBackend().hostAddress?.()
    await using job = await probeJob({
      network: "open",
      tcp: [`hostServerOnBridge=${bridge}:${reachable.port}`],
    })
    expect({ status: job.result.status, error: job.result.error, text: job.result.text }).toEqual({
      status: "completed",
      error: undefined,
      text: "probed",
    })
    expect(job.networksDuring).toEqual(["bridge"])
    expect(probeResults(job.events)).toMatchObject({
      hostServerOnBridge: "connected",
      proxyVariable: "unset",
    })
    expect(await sessionNetworks({ [LABEL.job]: job.jobId })).toEqual([])
  })

  it('network = "none" is refused, naming the setting, and creates nothing', async () => {
    await using job = await probeJob({ network: "none", tcp: [] })
    expect(job.result.status).toBe("stoppedByError")
    expect(job.result.error).toMatch(
      /Expert "prober" has \[experts\."prober"\.sandbox\] network = "none": its container would have no network at all, so it could not reach the LLM.*Use network = "gateway"/s,
    )
    expect(job.llm.requests).toHaveLength(0)
    expect(await sessionContainers({ [LABEL.job]: job.jobId })).toEqual([])
    expect(await sessionNetworks({ [LABEL.job]: job.jobId })).toEqual([])
    // The engine was left as it was: nothing of this job anywhere.
    expect(await docker.listNetworks({ filters: { label: [`${LABEL.job}=${job.jobId}`] } })).toEqual([])
  })
})
