// Benchmark: one run as a Kubernetes Job on the real test cluster (scripts/k8s), against the same run as a docker
// container: time from the backend's start (Secret and Job created) to the first event line, and to the run's end.
// The runtime is the real one, answered by the scripted LLM. Needs root, Docker and the cluster's binaries
// (scripts/k8s/build.sh); starts the cluster if it is not up, and stops it again if it started it.

import { dockerReady, median, summary } from "../../e2e/support/docker-bench.ts"
import { clusterUnavailable, startCluster } from "../../e2e/support/k8s-cluster.ts"
import { createDockerBackend } from "../../orchestrator/sandbox/docker/docker-backend.ts"
import { createKubernetesBackend } from "../../orchestrator/sandbox/kubernetes/kubernetes-backend.ts"
import type { Sandbox, SandboxBackend } from "../../orchestrator/sandbox/sandbox.ts"
import { buildRunSpec } from "../../runtime/testing/run-spec-builder.ts"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"

export const title =
  "kubernetes backend: Job creation to first event line, and per-run cost against the docker backend"

async function timed(backend: SandboxBackend, workspace: string, llmUrl: string, runId: string) {
  const spec = buildRunSpec({ workspace, llmUrl, runId })
  const started = performance.now()
  const sandbox: Sandbox = await backend.start({
    spec,
    env: { OPENAI_API_KEY: "sk-bench" },
    workspace,
    labels: { jobId: "bench-k8s", runId },
  })
  let first = Number.NaN
  for await (const _ of sandbox.stdout) {
    if (Number.isNaN(first)) first = performance.now() - started
  }
  const exit = await sandbox.wait()
  if (exit.reason !== "completed")
    throw new Error(`bench run ${runId} ended ${exit.reason}: ${exit.stderrTail}`)
  return { first, total: performance.now() - started }
}

export async function run(runs: number): Promise<void> {
  const why = clusterUnavailable()
  if (why) {
    process.stdout.write(`  skipped: ${why}\n`)
    return
  }
  if (!(await dockerReady())) return
  const cluster = await startCluster()
  const count = Math.min(runs, 10)
  try {
    const gatewayHost = cluster.env.PERSTACK_GATEWAY_HOST as string
    // On the docker bridge: both the pods and the containers reach it there.
    const llm = await startScriptedLlmServer({
      steps: Array.from({ length: 2 * (count + 1) }, () => ({ text: "done" })),
      host: gatewayHost,
    })
    const loopbackUrl = llm.url.replace(gatewayHost, "127.0.0.1")
    await using ws = await cluster.workspace()
    const kubernetes = createKubernetesBackend({
      kubeConfig: cluster.kubeConfig,
      namespace: "perstack",
      workspaceClaim: "perstack-workspace",
      claimMount: cluster.env.PERSTACK_K8S_CLAIM_MOUNT as string,
      gatewayHost,
    })
    await using docker = createDockerBackend()
    const k8sFirst: number[] = []
    const k8sTotal: number[] = []
    const dockerFirst: number[] = []
    const dockerTotal: number[] = []
    // One of each first: image and connection warm-up stay outside the figures.
    for (let i = -1; i < count; i++) {
      const onK8s = await timed(kubernetes, ws.dir, loopbackUrl, `bench-k8s-${i + 1}-${Date.now()}`)
      const onDocker = await timed(docker, ws.dir, loopbackUrl, `bench-docker-${i + 1}-${Date.now()}`)
      if (i < 0) continue
      k8sFirst.push(onK8s.first)
      k8sTotal.push(onK8s.total)
      dockerFirst.push(onDocker.first)
      dockerTotal.push(onDocker.total)
    }
    await llm.close()
    process.stdout.write(`${summary("kubernetes: Job created -> first event line", k8sFirst)}\n`)
    process.stdout.write(`${summary("kubernetes: whole run (one LLM answer)", k8sTotal)}\n`)
    process.stdout.write(`${summary("docker: container created -> first event line", dockerFirst)}\n`)
    process.stdout.write(`${summary("docker: whole run (one LLM answer)", dockerTotal)}\n`)
    process.stdout.write(
      `  per-run overhead of kubernetes over docker: ${Math.round(median(k8sTotal) - median(dockerTotal))} ms (median)\n`,
    )
  } finally {
    await cluster.stop()
  }
}
