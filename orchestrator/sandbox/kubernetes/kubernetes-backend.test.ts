// The kubernetes backend against an in-process API server (client-node's real HTTP code, a simulated node running
// the real runtime): the backend contract, then what is Kubernetes' own.
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { BatchV1Api, KubeConfig } from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SandboxEvent, sandboxEventSchema } from "../../../runtime/protocol/events/index.ts"
import { buildRunSpec } from "../../../runtime/testing/run-spec-builder.ts"
import {
  type ScriptedStep,
  startScriptedLlmServer,
} from "../../../runtime/testing/scripted-llm/scripted-llm-server.ts"
import { startLlmGateway } from "../../gateway/llm-gateway.ts"
import { describeBackendContract } from "../../testing/backend-contract.ts"
import { type FakeKube, type FakeKubeOptions, startFakeKube } from "../../testing/fake-kube-apiserver.ts"
import type { Sandbox } from "../sandbox.ts"
import { kubeApiError } from "./api-errors.ts"
import { createKubernetesBackend, type KubernetesBackendOptions } from "./kubernetes-backend.ts"

let claimDir: string
const fakes: FakeKube[] = []

beforeAll(async () => {
  claimDir = await mkdtemp(path.join(tmpdir(), "perstack-k8s-claim-"))
})
afterAll(async () => {
  await Promise.all(fakes.map((fake) => fake.close()))
  await rm(claimDir, { recursive: true, force: true })
})

async function cluster(
  options: Partial<FakeKubeOptions> = {},
  backend: Partial<KubernetesBackendOptions> = {},
) {
  const fake = await startFakeKube({ claims: { workspace: claimDir }, ...options })
  fakes.push(fake)
  const kubeConfig = new KubeConfig()
  kubeConfig.loadFromString(fake.kubeconfig)
  return {
    fake,
    kubeConfig,
    backend: createKubernetesBackend({
      kubeConfig,
      workspaceClaim: "workspace",
      claimMount: claimDir,
      gatewayHost: "127.0.0.1",
      ...backend,
    }),
  }
}

async function workspace() {
  const dir = await mkdtemp(path.join(claimDir, "ws-"))
  await mkdir(path.join(dir, "perstack"), { recursive: true })
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) }
}

describeBackendContract("kubernetes", async () => {
  const { backend } = await cluster()
  return { backend, workspace, llmHost: "127.0.0.1", llmUrlFor: (url) => url }
})

async function events(sandbox: Sandbox): Promise<SandboxEvent[]> {
  let text = ""
  for await (const chunk of sandbox.stdout) text += Buffer.from(chunk).toString("utf8")
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => sandboxEventSchema.parse(JSON.parse(line)))
}

async function startRun(
  setup: Awaited<ReturnType<typeof cluster>>,
  steps: ScriptedStep[],
  settings?: { timeout?: number; image?: string },
) {
  const ws = await workspace()
  const llm = await startScriptedLlmServer({ steps, host: "127.0.0.1" })
  const spec = buildRunSpec({ workspace: ws.dir, llmUrl: llm.url })
  const close = async () => {
    await llm.close()
    await ws[Symbol.asyncDispose]()
  }
  try {
    const sandbox = await setup.backend.start({
      spec,
      env: { OPENAI_API_KEY: "sk-k8s-secret-value" },
      workspace: ws.dir,
      labels: { jobId: spec.jobId, runId: spec.runId },
      ...(settings ? { settings } : {}),
    })
    return {
      sandbox,
      spec,
      async [Symbol.asyncDispose]() {
        await sandbox[Symbol.asyncDispose]()
        await close()
      },
    }
  } catch (error) {
    await close()
    throw error
  }
}

describe("kubernetes backend", () => {
  it("creates a Job whose spec holds no secret, under the restricted profile, and deletes it with its pod and Secret", async () => {
    const setup = await cluster()
    const { fake } = setup
    await using run = await startRun(setup, [{ text: "done" }])
    const job = [...fake.jobs.values()][0]
    expect(JSON.stringify(job)).not.toContain("sk-k8s-secret-value")
    expect(job?.spec).toMatchObject({ backoffLimit: 0, ttlSecondsAfterFinished: 600 })
    expect(job?.spec.podFailurePolicy).toBeUndefined()
    const pod = job?.spec.template.spec
    expect(pod).toMatchObject({
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
    })
    expect(pod.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    })
    // Limits from the Expert's settings (here the defaults), requests what an idle agent needs.
    expect(pod.containers[0].resources).toEqual({
      limits: { cpu: "2000m", memory: "2048Mi" },
      requests: { cpu: "250m", memory: "256Mi" },
    })
    expect(pod.containers[0].env).toContainEqual({ name: "PERSTACK_SANDBOX", value: "1" })
    expect(pod.containers[0].env).toContainEqual({
      name: "OPENAI_API_KEY",
      valueFrom: { secretKeyRef: { name: job?.metadata.name, key: "OPENAI_API_KEY" } },
    })
    // The Secret is owned by the Job, so the TTL controller's deletion takes it along.
    const secret = fake.secrets.get(`agents/${job?.metadata.name}`)
    await expect.poll(() => secret?.metadata.ownerReferences?.[0]?.uid).toBe(job?.metadata.uid)
    expect(JSON.parse(secret?.stringData["run-spec.json"])).toMatchObject({ workspace: "/workspace" })

    const seen = await events(run.sandbox)
    expect(seen.at(-1)?.type).toBe("completeRun")
    expect(await run.sandbox.wait()).toMatchObject({ exitCode: 0, reason: "completed" })
    await expect.poll(() => fake.jobs.size + fake.pods.size + fake.secrets.size).toBe(0)
    expect(fake.requests.filter((line) => line.startsWith("DELETE /apis/batch/v1"))).toEqual([
      expect.stringContaining("propagationPolicy=Background"),
    ])
  })

  it("asks for podFailurePolicy only from servers that apply it (1.26+)", async () => {
    const setup = await cluster({ minor: "30" })
    await using run = await startRun(setup, [{ text: "done" }])
    const job = [...setup.fake.jobs.values()][0]
    expect(job?.spec.podFailurePolicy.rules).toContainEqual({
      action: "FailJob",
      onPodConditions: [{ type: "DisruptionTarget", status: "True" }],
    })
    await events(run.sandbox)
    await run.sandbox.wait()
  })

  it("resumes a dropped log stream without losing or repeating a line", async () => {
    const steps: ScriptedStep[] = [
      { toolCalls: [{ name: "writeTextFile", arguments: { path: "a.txt", text: "a" } }] },
      { toolCalls: [{ name: "writeTextFile", arguments: { path: "b.txt", text: "b" } }] },
      { text: "done" },
    ]
    const plain = await cluster()
    await using first = await startRun(plain, steps)
    const expected = (await events(first.sandbox)).map((event) => event.type)

    const dropping = await cluster({ dropLogAfterLines: 3 })
    await using second = await startRun(dropping, steps)
    const seen = await events(second.sandbox)
    expect(await second.sandbox.wait()).toMatchObject({ reason: "completed" })
    expect(dropping.fake.logResumes).toBeGreaterThanOrEqual(1)
    expect(seen.map((event) => event.type)).toEqual(expected)
    expect(new Set(seen.map((event) => event.id)).size).toBe(seen.length)
  })

  it("through the gateway, runs a tool call only once the orchestrator acknowledges it was stored", async () => {
    const setup = await cluster()
    await using ws = await workspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "done.txt", text: "ran" } }] },
        { text: "done" },
      ],
      host: "127.0.0.1",
    })
    await using gateway = await startLlmGateway({
      provider: { providerName: "openai", setting: { baseUrl: llm.url } },
      env: { OPENAI_API_KEY: "sk-real" },
    })
    const token = gateway.issueToken("run-ack")
    const spec = {
      ...buildRunSpec({ workspace: ws.dir, llmUrl: gateway.url, runId: "run-ack" }),
      llmBaseUrl: gateway.url,
    }
    const sandbox = await setup.backend.start({
      spec,
      env: { OPENAI_API_KEY: token },
      workspace: ws.dir,
      labels: { jobId: spec.jobId, runId: spec.runId },
      services: { gateway: gateway.url },
    })
    const job = [...setup.fake.jobs.values()][0]
    expect(job?.spec.template.spec.containers[0].env).toContainEqual({ name: "PERSTACK_ACK", value: "http" })
    let written: string | undefined
    for await (const chunk of sandbox.stdout) {
      for (const line of Buffer.from(chunk).toString("utf8").split("\n").filter(Boolean)) {
        const event = sandboxEventSchema.parse(JSON.parse(line))
        if (event.type !== "callTools") continue
        // Not stored yet, so not run: the runtime waits on the gateway.
        await new Promise((resolve) => setTimeout(resolve, 300))
        written = await readFile(path.join(ws.dir, "done.txt"), "utf8").catch(() => undefined)
        gateway.acknowledge(token, event.id)
      }
    }
    expect(written).toBeUndefined()
    expect(await sandbox.wait()).toMatchObject({ reason: "completed" })
    expect(await readFile(path.join(ws.dir, "done.txt"), "utf8")).toBe("ran")
  })

  it("ends a run past its timeout by the Job's deadline, as a timeout", async () => {
    const setup = await cluster()
    await using run = await startRun(setup, [{ type: "stall" }], { timeout: 1_000 })
    const seen = await events(run.sandbox)
    expect(await run.sandbox.wait()).toMatchObject({ reason: "timeout" })
    expect(
      setup.fake.jobs.size === 0 || [...setup.fake.jobs.values()][0]?.spec.activeDeadlineSeconds === 1,
    ).toBe(true)
    // SIGTERM at the deadline: the runtime stopped with a resumable checkpoint.
    expect(seen.at(-1)).toMatchObject({ type: "stopRunByError" })
  })

  it("fails a run whose image the node cannot pull, naming the image, and leaves nothing behind", async () => {
    const setup = await cluster({ missingImages: ["example.org/missing:1"] }, { startPatienceMs: 300 })
    await expect(startRun(setup, [{ text: "never" }], { image: "example.org/missing:1" })).rejects.toThrow(
      /sandbox image example\.org\/missing:1 cannot be pulled.*ErrImagePull/,
    )
    await expect.poll(() => setup.fake.jobs.size + setup.fake.pods.size + setup.fake.secrets.size).toBe(0)
  })

  it("fails a run whose pod no node has room for, saying what to lower", async () => {
    const setup = await cluster({ unschedulable: true }, { startPatienceMs: 300 })
    await expect(startRun(setup, [{ text: "never" }])).rejects.toThrow(
      /cannot be scheduled \(0\/1 nodes are available: 1 Insufficient cpu\.\): lower the Expert's .*cpus/,
    )
    await expect.poll(() => setup.fake.jobs.size + setup.fake.pods.size + setup.fake.secrets.size).toBe(0)
  })

  it("names the verb and resource the service account lacks (403), and removes the Secret it had made", async () => {
    const setup = await cluster({ forbid: ["create jobs"] })
    await expect(startRun(setup, [{ text: "never" }])).rejects.toThrow(
      /refused to create jobs\.batch "perstack-[a-z0-9-]+" in namespace "agents" \(403\): the service account lacks the verb "create" on "jobs\.batch"/,
    )
    expect(setup.fake.secrets.size).toBe(0)
  })

  it("names the field the API server rejects (422)", async () => {
    const { kubeConfig, fake } = await cluster()
    const batch = kubeConfig.makeApiClient(BatchV1Api)
    const error = await batch
      .createNamespacedJob({
        namespace: "agents",
        body: { metadata: { name: "bad" }, spec: { template: { spec: { containers: [{ name: "c" }] } } } },
      })
      .catch((caught: unknown) => caught)
    expect(
      kubeApiError(error, { verb: "create", resource: "jobs.batch", namespace: "agents" }, fake.url).message,
    ).toMatch(
      /rejected the jobs\.batch to create \(422\): spec\.template\.spec\.restartPolicy: Required value/,
    )
  })

  it("says what to set when the workspace claim is missing or the workspace lies outside it", async () => {
    const setup = await cluster({}, { workspaceClaim: "" })
    await expect(startRun(setup, [{ text: "never" }])).rejects.toThrow(/PERSTACK_K8S_WORKSPACE_CLAIM/)
    const outside = await cluster({}, { claimMount: path.join(claimDir, "elsewhere") })
    await expect(startRun(outside, [{ text: "never" }])).rejects.toThrow(/is not inside .*elsewhere/)
  })

  it("reaps a run's Job by its labels (after the orchestrator died)", async () => {
    const setup = await cluster()
    await using run = await startRun(setup, [{ type: "stall" }])
    const read = events(run.sandbox)
    expect(setup.fake.jobs.size).toBe(1)
    await setup.backend.reap?.({ jobId: run.spec.jobId, runId: run.spec.runId })
    await expect.poll(() => setup.fake.jobs.size + setup.fake.pods.size + setup.fake.secrets.size).toBe(0)
    await read
    expect((await run.sandbox.wait()).reason).toBe("crashed")
  })
})
