// An in-process Kubernetes API server for the kubernetes backend's fast tests: the subset the backend speaks
// (/version; Secrets and Jobs create / get / list / patch / delete with `Status` error bodies; pods list, get,
// delete and `watch=true` as a chunked stream; pod logs with follow, timestamps and sinceTime), and a simulated
// node: each Job's pod runs the real runtime as a local process, with the environment its Secret holds and the
// workspace its claim maps to. Faults can be injected: refusals (403, 422), a dropped log stream, an image that
// cannot be pulled. Not a conformance fake: what it does not model, the e2e tests on a real cluster cover.
import { type ChildProcess, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { EventEmitter } from "node:events"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import path from "node:path"
import { RUNTIME_NODE_FLAGS } from "../../runtime/cli/node-flags.ts"
import { defaultRuntimeEntry } from "../sandbox/local/local-backend.ts"

// biome-ignore lint/suspicious/noExplicitAny: free-form API objects
type Json = Record<string, any>

export interface FakeKubeOptions {
  /** claim name -> the host folder it stands for */
  claims: Record<string, string>
  /** the server's minor version (default "20") */
  minor?: string
  /** refuse these "verb resource" pairs with 403, e.g. "create jobs" */
  forbid?: string[]
  /** images the node cannot pull (their pods stay waiting in ErrImagePull) */
  missingImages?: string[]
  /** no node has room: pods stay Pending, PodScheduled False (Unschedulable) */
  unschedulable?: boolean
  /** drops each pod's first log stream after this many lines (the follower must resume) */
  dropLogAfterLines?: number
}

interface Container {
  process?: ChildProcess
  lines: { at: bigint; text: string }[]
  ended: boolean
  events: EventEmitter
  dir: string
}

const status = (code: number, reason: string, message: string, details?: Json): Json => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  code,
  ...(details ? { details } : {}),
})

/** RFC 3339 with nanoseconds, as the kubelet writes it. */
function rfc3339(ns: bigint): string {
  const ms = Number(ns / 1_000_000n)
  const base = new Date(ms).toISOString().slice(0, 19)
  return `${base}.${String(ns % 1_000_000_000n).padStart(9, "0")}Z`
}

function matches(object: Json, selector: string | null): boolean {
  if (!selector) return true
  return selector.split(",").every((term) => {
    const [key, value] = term.split("=")
    return object.metadata?.labels?.[key as string] === value
  })
}

export interface FakeKube {
  url: string
  kubeconfig: string
  requests: string[]
  jobs: Map<string, Json>
  pods: Map<string, Json>
  secrets: Map<string, Json>
  logResumes: number
  close(): Promise<void>
}

export async function startFakeKube(options: FakeKubeOptions): Promise<FakeKube> {
  let version = 1
  let lastNs = 0n
  const now = () => new Date().toISOString()
  const stamp = () => {
    const ns = BigInt(Date.now()) * 1_000_000n
    lastNs = ns > lastNs ? ns : lastNs + 1n
    return lastNs
  }
  const jobs = new Map<string, Json>()
  const pods = new Map<string, Json>()
  const secrets = new Map<string, Json>()
  const containers = new Map<string, Container>()
  const podEvents = new EventEmitter()
  podEvents.setMaxListeners(1000)
  const requests: string[] = []
  const state = { logResumes: 0 }
  const timers = new Set<NodeJS.Timeout>()
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timers.add(timer)
  }
  const bump = (object: Json) => {
    object.metadata.resourceVersion = String(++version)
    return object
  }
  const emitPod = (type: string, pod: Json) => podEvents.emit("event", { type, object: structuredClone(pod) })
  const forbidden = (verb: string, resource: string, group: string, namespace: string) =>
    options.forbid?.includes(`${verb} ${resource}`)
      ? status(
          403,
          "Forbidden",
          `${resource}${group ? `.${group}` : ""} is forbidden: User "system:serviceaccount:${namespace}:perstack" cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "${namespace}"`,
          { kind: resource },
        )
      : undefined

  function setPod(pod: Json, change: Json) {
    Object.assign(pod.status, change)
    bump(pod)
    emitPod("MODIFIED", pod)
  }

  function finishJob(job: Json, outcome: "Complete" | "Failed", reason?: string) {
    if (job.status.conditions?.length) return
    job.status = {
      ...job.status,
      active: 0,
      ...(outcome === "Complete" ? { succeeded: 1, completionTime: now() } : { failed: 1 }),
      conditions: [
        { type: outcome, status: "True", ...(reason ? { reason } : {}), lastTransitionTime: now() },
      ],
    }
    bump(job)
  }

  function endContainer(key: string, exitCode: number, reason: string) {
    const pod = pods.get(key)
    const container = containers.get(key)
    if (container) {
      container.ended = true
      container.events.emit("end")
      void rm(container.dir, { recursive: true, force: true })
    }
    if (!pod) return
    setPod(pod, {
      phase: exitCode === 0 ? "Succeeded" : "Failed",
      containerStatuses: [
        { name: pod.spec.containers[0].name, ready: false, state: { terminated: { exitCode, reason } } },
      ],
    })
    const job = jobs.get(`${pod.metadata.namespace}/${pod.metadata.labels["job-name"]}`)
    if (job)
      finishJob(
        job,
        exitCode === 0 ? "Complete" : "Failed",
        exitCode === 0 ? undefined : "BackoffLimitExceeded",
      )
  }

  /** The simulated kubelet: the pod's container is the real runtime, as a local process. */
  async function runPod(namespace: string, pod: Json) {
    const key = `${namespace}/${pod.metadata.name}`
    const spec = pod.spec.containers[0]
    if (options.unschedulable) {
      setPod(pod, {
        conditions: [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message: "0/1 nodes are available: 1 Insufficient cpu.",
          },
        ],
      })
      return
    }
    if (options.missingImages?.includes(spec.image)) {
      setPod(pod, {
        containerStatuses: [
          {
            name: spec.name,
            ready: false,
            state: { waiting: { reason: "ErrImagePull", message: `pull access denied for ${spec.image}` } },
          },
        ],
      })
      return
    }
    const secretValue = (name: string, key: string) => secrets.get(`${namespace}/${name}`)?.stringData?.[key]
    const env: Record<string, string> = {}
    for (const entry of spec.env ?? []) {
      const value = entry.valueFrom?.secretKeyRef
        ? secretValue(entry.valueFrom.secretKeyRef.name, entry.valueFrom.secretKeyRef.key)
        : entry.value
      if (value !== undefined) env[entry.name] = value
    }
    // PATH inside the image means nothing here.
    env.PATH = process.env.PATH ?? "/usr/bin:/bin"
    const workspaceVolume = pod.spec.volumes.find((volume: Json) => volume.persistentVolumeClaim)
    const mount = spec.volumeMounts.find((mount: Json) => mount.name === workspaceVolume?.name)
    const claimDir = options.claims[workspaceVolume?.persistentVolumeClaim?.claimName]
    const specVolume = pod.spec.volumes.find((volume: Json) => volume.secret)
    const runSpec = secretValue(specVolume?.secret?.secretName, "run-spec.json")
    if (!claimDir || !runSpec) {
      setPod(pod, {
        containerStatuses: [
          {
            name: spec.name,
            ready: false,
            state: { waiting: { reason: "CreateContainerConfigError", message: "claim or secret missing" } },
          },
        ],
      })
      return
    }
    const workspace = path.join(claimDir, mount?.subPath ?? "")
    const dir = await mkdtemp(path.join(tmpdir(), "perstack-fake-node-"))
    const specFile = path.join(dir, "run-spec.json")
    // The volume mount, simulated: the runtime's /workspace is the claim's folder on this host.
    await writeFile(specFile, JSON.stringify({ ...JSON.parse(runSpec), workspace }))
    const container: Container = { lines: [], ended: false, events: new EventEmitter(), dir }
    container.events.setMaxListeners(100)
    containers.set(key, container)
    const child = spawn(process.execPath, [...RUNTIME_NODE_FLAGS, defaultRuntimeEntry(), specFile], {
      cwd: workspace,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    })
    container.process = child
    setPod(pod, {
      phase: "Running",
      startTime: now(),
      containerStatuses: [{ name: spec.name, ready: true, state: { running: { startedAt: now() } } }],
    })
    const capture = (stream: NodeJS.ReadableStream) => {
      let pending = ""
      stream.setEncoding("utf8")
      stream.on("data", (chunk: string) => {
        pending += chunk
        for (let newline = pending.indexOf("\n"); newline !== -1; newline = pending.indexOf("\n")) {
          const line = { at: stamp(), text: pending.slice(0, newline + 1) }
          pending = pending.slice(newline + 1)
          container.lines.push(line)
          container.events.emit("line", line)
        }
      })
    }
    if (child.stdout) capture(child.stdout)
    if (child.stderr) capture(child.stderr)
    child.on("close", (code, signal) => {
      const exitCode = code ?? (signal === "SIGKILL" ? 137 : 143)
      endContainer(key, exitCode, exitCode === 0 ? "Completed" : "Error")
    })
    const deadline = jobs.get(`${namespace}/${pod.metadata.labels["job-name"]}`)?.spec?.activeDeadlineSeconds
    if (deadline) {
      later(deadline * 1000, () => {
        const job = jobs.get(`${namespace}/${pod.metadata.labels["job-name"]}`)
        if (!job || job.status.conditions?.length) return
        finishJob(job, "Failed", "DeadlineExceeded")
        deletePod(key, pod.spec.terminationGracePeriodSeconds ?? 30)
      })
    }
  }

  function deletePod(key: string, graceSeconds: number) {
    const pod = pods.get(key)
    if (!pod) return
    const child = containers.get(key)?.process
    const gone = () => {
      if (!pods.has(key)) return
      pods.delete(key)
      bump(pod)
      emitPod("DELETED", pod)
    }
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM")
      const force = setTimeout(() => child.kill("SIGKILL"), graceSeconds * 1000)
      child.once("close", () => {
        clearTimeout(force)
        // As the kubelet does: the ended container's status is written, then the pod object goes.
        later(50, gone)
      })
    } else gone()
  }

  function createJob(namespace: string, body: Json): [number, Json] {
    const name = body?.metadata?.name
    const denied = forbidden("create", "jobs", "batch", namespace)
    if (denied) return [403, denied]
    const restart = body?.spec?.template?.spec?.restartPolicy
    if (restart !== "Never" && restart !== "OnFailure") {
      return [
        422,
        status(
          422,
          "Invalid",
          `Job.batch "${name}" is invalid: spec.template.spec.restartPolicy: Required value`,
          {
            name,
            group: "batch",
            kind: "Job",
            causes: [
              {
                reason: "FieldValueRequired",
                message: 'Required value: valid values: "OnFailure", "Never"',
                field: "spec.template.spec.restartPolicy",
              },
            ],
          },
        ),
      ]
    }
    if (jobs.has(`${namespace}/${name}`))
      return [409, status(409, "AlreadyExists", `jobs.batch "${name}" already exists`)]
    const uid = randomUUID()
    const job: Json = {
      apiVersion: "batch/v1",
      kind: "Job",
      ...structuredClone(body),
      metadata: { ...body.metadata, namespace, uid, creationTimestamp: now() },
      status: { active: 1, startTime: now() },
    }
    bump(job)
    jobs.set(`${namespace}/${name}`, job)
    const template = job.spec.template
    const pod: Json = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${name}-${uid.slice(0, 5)}`,
        namespace,
        uid: randomUUID(),
        creationTimestamp: now(),
        labels: { ...(template.metadata?.labels ?? {}), "job-name": name, "controller-uid": uid },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name, uid, controller: true }],
      },
      spec: structuredClone(template.spec),
      status: { phase: "Pending" },
    }
    bump(pod)
    pods.set(`${namespace}/${pod.metadata.name}`, pod)
    emitPod("ADDED", pod)
    later(20, () => void runPod(namespace, pod))
    return [201, job]
  }

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://fake")
    const method = request.method ?? "GET"
    requests.push(`${method} ${url.pathname}${url.search}`)
    const send = (code: number, object: Json) => {
      response.writeHead(code, { "content-type": "application/json" })
      response.end(JSON.stringify(object))
    }
    const body = () =>
      new Promise<Json | undefined>((resolve) => {
        let text = ""
        request.on("data", (chunk) => {
          text += chunk
        })
        request.on("end", () => resolve(text ? (JSON.parse(text) as Json) : undefined))
      })
    let match: RegExpMatchArray | null
    const deny = (verb: string, resource: string, group: string, namespace: string) => {
      const denied = forbidden(verb, resource, group, namespace)
      if (denied) send(403, denied)
      return denied !== undefined
    }

    if (url.pathname === "/version") {
      return send(200, {
        major: "1",
        minor: options.minor ?? "20",
        gitVersion: `v1.${options.minor ?? "20"}.0-fake`,
      })
    }
    // Secrets and Jobs: create, list, get, patch, delete.
    match = url.pathname.match(
      /^\/(?:api\/v1|apis\/batch\/v1)\/namespaces\/([^/]+)\/(secrets|jobs)(?:\/([^/]+))?$/,
    )
    if (match) {
      const [, namespace = "", resource = "", name] = match
      const store = resource === "jobs" ? jobs : secrets
      const group = resource === "jobs" ? "batch" : ""
      const verb = name
        ? ({ GET: "get", PATCH: "patch", DELETE: "delete" }[method] ?? method)
        : method === "POST"
          ? "create"
          : "list"
      if (deny(verb, resource, group, namespace)) return
      if (!name && method === "POST") {
        return void body().then((object) => {
          if (resource === "jobs") return send(...createJob(namespace, object ?? {}))
          const secretName = object?.metadata?.name
          if (store.has(`${namespace}/${secretName}`)) {
            return send(409, status(409, "AlreadyExists", `secrets "${secretName}" already exists`))
          }
          const secret = { ...object, metadata: { ...object?.metadata, namespace, uid: randomUUID() } }
          store.set(`${namespace}/${secretName}`, bump(secret))
          send(201, secret)
        })
      }
      if (!name) {
        const items = [...store.values()].filter(
          (object) =>
            object.metadata.namespace === namespace && matches(object, url.searchParams.get("labelSelector")),
        )
        return send(200, {
          kind: resource === "jobs" ? "JobList" : "SecretList",
          metadata: { resourceVersion: String(version) },
          items,
        })
      }
      const key = `${namespace}/${name}`
      const object = store.get(key)
      const kind = resource === "jobs" ? "jobs.batch" : "secrets"
      if (!object) return send(404, status(404, "NotFound", `${kind} "${name}" not found`))
      if (method === "GET") return send(200, object)
      if (method === "PATCH") {
        return void body().then((patch) => {
          if (patch?.metadata?.ownerReferences)
            object.metadata.ownerReferences = patch.metadata.ownerReferences
          if (patch?.spec?.parallelism !== undefined) {
            object.spec.parallelism = patch.spec.parallelism
            if (patch.spec.parallelism === 0) {
              for (const [podKey, pod] of pods) {
                if (pod.metadata.labels["controller-uid"] === object.metadata.uid) {
                  deletePod(podKey, pod.spec.terminationGracePeriodSeconds ?? 30)
                }
              }
            }
          }
          send(200, bump(object))
        })
      }
      if (method === "DELETE") {
        store.delete(key)
        if (resource === "jobs") {
          // batch/v1's default is to orphan the pods: only Background / Foreground take them along.
          const policy = url.searchParams.get("propagationPolicy") ?? "Orphan"
          for (const [podKey, pod] of pods) {
            if (policy !== "Orphan" && pod.metadata.labels["controller-uid"] === object.metadata.uid)
              deletePod(podKey, 0)
          }
          // The garbage collector: Secrets the Job owns go with it.
          for (const [secretKey, secret] of secrets) {
            if (secret.metadata.ownerReferences?.some((owner: Json) => owner.uid === object.metadata.uid))
              secrets.delete(secretKey)
          }
        }
        return send(200, { ...object, metadata: { ...object.metadata, deletionTimestamp: now() } })
      }
    }
    // Pods: list (and watch), get, delete, log.
    match = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?(\/log)?$/)
    if (match) {
      const [, namespace = "", name, log] = match
      const verb = log
        ? "get"
        : name
          ? ({ GET: "get", DELETE: "delete" }[method] ?? method)
          : url.searchParams.get("watch") === "true"
            ? "watch"
            : "list"
      if (deny(verb, log ? "pods/log" : "pods", "", namespace)) return
      if (!name) {
        const selector = url.searchParams.get("labelSelector")
        const items = [...pods.values()].filter(
          (pod) => pod.metadata.namespace === namespace && matches(pod, selector),
        )
        if (url.searchParams.get("watch") !== "true") {
          return send(200, {
            kind: "PodList",
            apiVersion: "v1",
            metadata: { resourceVersion: String(version) },
            items,
          })
        }
        const since = Number(url.searchParams.get("resourceVersion") ?? 0)
        response.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" })
        if (!since)
          for (const pod of items) response.write(`${JSON.stringify({ type: "ADDED", object: pod })}\n`)
        const onEvent = (event: Json) => {
          if (event.object.metadata.namespace !== namespace || !matches(event.object, selector)) return
          if (since && Number(event.object.metadata.resourceVersion) <= since) return
          response.write(`${JSON.stringify(event)}\n`)
        }
        podEvents.on("event", onEvent)
        request.on("close", () => podEvents.off("event", onEvent))
        return
      }
      const key = `${namespace}/${name}`
      const pod = pods.get(key)
      if (!pod) return send(404, status(404, "NotFound", `pods "${name}" not found`))
      if (!log && method === "GET") return send(200, pod)
      if (!log && method === "DELETE") {
        deletePod(
          key,
          Number(url.searchParams.get("gracePeriodSeconds") ?? pod.spec.terminationGracePeriodSeconds ?? 30),
        )
        return send(200, pod)
      }
      const container = containers.get(key)
      if (!container) {
        return send(
          400,
          status(
            400,
            "BadRequest",
            `container "runtime" in pod "${name}" is waiting to start: ContainerCreating`,
          ),
        )
      }
      const timestamps = url.searchParams.get("timestamps") === "true"
      const sinceTime = url.searchParams.get("sinceTime")
      if (sinceTime) state.logResumes++
      const sinceNs = sinceTime ? BigInt(Date.parse(sinceTime)) * 1_000_000n : 0n
      // As the kubelet does over Docker's json-file: a long line comes in 16 KiB pieces, each with the timestamp.
      const format = (line: { at: bigint; text: string }): Buffer => {
        const bytes = Buffer.from(line.text)
        if (!timestamps) return bytes
        const prefix = Buffer.from(`${rfc3339(line.at)} `)
        const parts: Buffer[] = []
        for (let offset = 0; offset < bytes.length; offset += 16_384) {
          parts.push(prefix, bytes.subarray(offset, offset + 16_384))
        }
        return Buffer.concat(parts)
      }
      response.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" })
      let written = 0
      let dropped = false
      const first = !sinceTime
      const write = (line: { at: bigint; text: string }) => {
        if (line.at < sinceNs || dropped) return
        if (first && options.dropLogAfterLines !== undefined && written >= options.dropLogAfterLines) {
          // A dropped connection, halfway through a line.
          dropped = true
          response.write(format(line).subarray(0, 10))
          response.socket?.destroy()
          return
        }
        written++
        response.write(format(line))
      }
      for (const line of container.lines) write(line)
      if (url.searchParams.get("follow") !== "true" || container.ended) return void response.end()
      const onEnd = () => response.end()
      container.events.on("line", write)
      container.events.once("end", onEnd)
      request.on("close", () => {
        container.events.off("line", write)
        container.events.off("end", onEnd)
      })
      return
    }
    send(
      404,
      status(404, "NotFound", `the server could not find the requested resource (${method} ${url.pathname})`),
    )
  })

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    kubeconfig: [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{name: fake, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]`,
      "users: [{name: fake, user: {token: fake-token}}]",
      "contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: agents}}]",
      "current-context: fake",
    ].join("\n"),
    requests,
    jobs,
    pods,
    secrets,
    get logResumes() {
      return state.logResumes
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      for (const container of containers.values()) {
        container.process?.kill("SIGKILL")
        await rm(container.dir, { recursive: true, force: true })
      }
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
