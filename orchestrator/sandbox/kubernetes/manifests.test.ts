// The manifests under k8s/: valid against the schema, each file reachable from a kustomization, the RBAC
// exactly what the Kubernetes backend uses, sandboxes cut off from all but DNS and the LLM gateway.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import { z } from "zod"
import { checkManifest } from "./openapi-check.ts"

const K8S = fileURLToPath(new URL("../../../k8s/", import.meta.url))
const KUSTOMIZATION = "kustomization.yaml"

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return yamlFiles(full)
    return /\.ya?ml$/.test(entry.name) ? [full] : []
  })
}

function documents(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, "utf8")).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`)
    const value: unknown = doc.toJS()
    return value === null ? [] : [value]
  })
}

const files = yamlFiles(K8S)
const manifestFiles = files.filter((file) => path.basename(file) !== KUSTOMIZATION)
const manifests = manifestFiles.flatMap((file) => documents(file).map((object) => ({ file, object })))
const objects = manifests.map((m) => m.object)

// A key this test does not know fails it: a new way of referencing files cannot slip past the listing check.
const kustomization = z.strictObject({
  apiVersion: z.literal("kustomize.config.k8s.io/v1beta1"),
  kind: z.literal("Kustomization"),
  namespace: z.string().optional(),
  resources: z.array(z.string()),
})

const selectorSchema = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string(),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
})
type Selector = z.infer<typeof selectorSchema>
type Labels = Readonly<Record<string, string>>

function selects(selector: Selector, labels: Labels): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value)
  return (
    byLabel &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      const value = labels[key]
      if (operator === "In") return value !== undefined && values.includes(value)
      if (operator === "NotIn") return value === undefined || !values.includes(value)
      return (value !== undefined) === (operator === "Exists")
    })
  )
}

const peerSchema = z.strictObject({
  podSelector: selectorSchema.optional(),
  namespaceSelector: selectorSchema.optional(),
  ipBlock: z.object({ cidr: z.string(), except: z.array(z.string()).optional() }).optional(),
})
const portSchema = z.strictObject({ protocol: z.enum(["TCP", "UDP", "SCTP"]), port: z.number() })
const ingressRule = z.strictObject({
  from: z.array(peerSchema).optional(),
  ports: z.array(portSchema).optional(),
})
const egressRule = z.strictObject({
  to: z.array(peerSchema).optional(),
  ports: z.array(portSchema).optional(),
})
const networkPolicySchema = z.object({
  kind: z.literal("NetworkPolicy"),
  metadata: z.object({ name: z.string() }),
  spec: z.strictObject({
    podSelector: selectorSchema,
    policyTypes: z.array(z.enum(["Ingress", "Egress"])),
    ingress: z.array(ingressRule).optional(),
    egress: z.array(egressRule).optional(),
  }),
})
const roleSchema = z.object({
  kind: z.literal("Role"),
  metadata: z.object({ name: z.string() }),
  rules: z.array(
    z.object({ apiGroups: z.array(z.string()), resources: z.array(z.string()), verbs: z.array(z.string()) }),
  ),
})
const envSchema = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .object({ fieldRef: z.object({ fieldPath: z.string() }).optional() })
    .passthrough()
    .optional(),
})
const workloadSchema = z.object({
  kind: z.enum(["Job", "Deployment"]),
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    template: z.object({
      metadata: z.object({ labels: z.record(z.string(), z.string()) }),
      spec: z.object({
        serviceAccountName: z.string(),
        securityContext: z.object({
          runAsNonRoot: z.literal(true),
          seccompProfile: z.object({ type: z.string() }),
        }),
        containers: z.array(
          z.object({
            env: z.array(envSchema),
            ports: z.array(z.object({ name: z.string().optional(), containerPort: z.number() })),
            volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })),
            securityContext: z.object({
              allowPrivilegeEscalation: z.literal(false),
              readOnlyRootFilesystem: z.literal(true),
              capabilities: z.object({ drop: z.array(z.string()) }),
            }),
          }),
        ),
        volumes: z.array(
          z.object({
            name: z.string(),
            persistentVolumeClaim: z.object({ claimName: z.string() }).optional(),
          }),
        ),
      }),
    }),
  }),
})

const ofKind = <T extends z.ZodType>(schema: T, kind: string): z.infer<T>[] =>
  objects
    .filter((object) => z.object({ kind: z.literal(kind) }).safeParse(object).success)
    .map((o) => schema.parse(o))
const names = (kind: string) =>
  objects.flatMap((o) => {
    const parsed = z.object({ kind: z.literal(kind), metadata: z.object({ name: z.string() }) }).safeParse(o)
    return parsed.success ? [parsed.data.metadata.name] : []
  })

const policies = ofKind(networkPolicySchema, "NetworkPolicy")
const workloads = [...ofKind(workloadSchema, "Job"), ...ofKind(workloadSchema, "Deployment")]
const GATEWAY_PORT = 8089
const SANDBOX: Labels = {
  "app.kubernetes.io/name": "perstack-sandbox",
  "app.kubernetes.io/managed-by": "perstack",
  "ai.perstack.job": "job-1",
  "ai.perstack.run": "run-1",
  "job-name": "perstack-run-1",
}
const KUBE_DNS: Labels = { "k8s-app": "kube-dns" }
const KUBE_SYSTEM: Labels = { "kubernetes.io/metadata.name": "kube-system" }
const orchestratorPods = workloads.map((w) => w.spec.template.metadata.labels)

describe("k8s/ manifests", () => {
  it("finds the layout: base, the query Job, serve", () => {
    expect(manifests.length).toBeGreaterThan(10)
    expect(names("Job")).toEqual(["perstack-query"])
    expect(names("Deployment")).toEqual(["perstack-serve"])
  })

  it.each(manifests.map((m) => [path.relative(K8S, m.file), m.object] as const))(
    "%s matches the schema",
    (_, object) => expect(checkManifest(object)).toEqual([]),
  )

  it("lists every manifest in a kustomization, and lists only what exists", () => {
    const listed = new Set<string>()
    const kustomizations = files.filter((file) => path.basename(file) === KUSTOMIZATION)
    expect(kustomizations.map((file) => path.relative(K8S, file)).sort()).toContain(KUSTOMIZATION)
    for (const file of kustomizations) {
      const { resources } = kustomization.parse(documents(file)[0])
      for (const resource of resources) {
        const target = path.resolve(path.dirname(file), resource)
        const where = `${path.relative(K8S, file)} lists ${resource}`
        expect(existsSync(target), where).toBe(true)
        if (statSync(target).isDirectory())
          expect(existsSync(path.join(target, KUSTOMIZATION)), where).toBe(true)
        else listed.add(target)
      }
    }
    expect(manifestFiles.filter((file) => !listed.has(file)).map((file) => path.relative(K8S, file))).toEqual(
      [],
    )
  })

  it("grants exactly the verbs the backend uses, in the namespace only", () => {
    const expected = {
      "batch/jobs": ["create", "delete", "get", "list", "patch", "watch"],
      "/pods": ["get", "list", "watch"],
      "/pods/log": ["get"],
      "/secrets": ["create", "delete", "patch"],
    }
    const roles = ofKind(roleSchema, "Role")
    expect(roles.map((role) => role.metadata.name).sort()).toEqual(["perstack", "perstack-serve"])
    for (const role of roles) {
      const granted: Record<string, string[]> = {}
      for (const rule of role.rules)
        for (const group of rule.apiGroups)
          for (const resource of rule.resources)
            granted[`${group}/${resource}`] = [
              ...new Set([...(granted[`${group}/${resource}`] ?? []), ...rule.verbs]),
            ].sort()
      expect(granted, role.metadata.name).toEqual(expected)
    }
    const kinds = objects.map((o) => z.object({ kind: z.string() }).parse(o).kind)
    expect(kinds.filter((kind) => kind.startsWith("Cluster"))).toEqual([])
  })

  it("binds each orchestrator's ServiceAccount to its Role", () => {
    const bindings = ofKind(
      z.object({
        roleRef: z.object({ kind: z.literal("Role"), name: z.string() }),
        subjects: z.array(z.object({ kind: z.literal("ServiceAccount"), name: z.string() })),
      }),
      "RoleBinding",
    )
    for (const workload of workloads) {
      const account = workload.spec.template.spec.serviceAccountName
      expect(names("ServiceAccount")).toContain(account)
      const binding = bindings.find((b) => b.subjects.some((s) => s.name === account))
      expect(names("Role"), account).toContain(binding?.roleRef.name)
    }
  })

  it("gives each orchestrator the backend's settings, consistent with its volumes and the policies", () => {
    for (const { metadata, spec } of workloads) {
      const [container] = spec.template.spec.containers
      const env = new Map(container?.env.map((variable) => [variable.name, variable]))
      const value = (name: string) => env.get(name)?.value
      expect(env.get("PERSTACK_K8S_NAMESPACE")?.valueFrom?.fieldRef?.fieldPath, metadata.name).toBe(
        "metadata.namespace",
      )
      expect(env.get("PERSTACK_GATEWAY_HOST")?.valueFrom?.fieldRef?.fieldPath, metadata.name).toBe(
        "status.podIP",
      )
      expect(value("PERSTACK_GATEWAY_PORT"), metadata.name).toBe(String(GATEWAY_PORT))
      expect(container?.ports).toContainEqual({ name: "gateway", containerPort: GATEWAY_PORT })
      expect(value("PERSTACK_SANDBOX_IMAGE"), metadata.name).toMatch(/^perstack\/sandbox:/)
      const claim = value("PERSTACK_K8S_WORKSPACE_CLAIM")
      expect(names("PersistentVolumeClaim"), metadata.name).toContain(claim)
      const volume = spec.template.spec.volumes.find((v) => v.persistentVolumeClaim?.claimName === claim)
      const mount = container?.volumeMounts.find((m) => m.name === volume?.name)
      expect(mount?.mountPath, metadata.name).toBe(value("PERSTACK_K8S_CLAIM_MOUNT"))
      expect(spec.template.spec.securityContext.seccompProfile.type).toBe("RuntimeDefault")
      expect(container?.securityContext.capabilities.drop).toEqual(["ALL"])
    }
  })

  it("lets sandboxes reach nothing but DNS and their orchestrator's gateway, and nothing reach them", () => {
    const forSandbox = policies.filter((policy) => selects(policy.spec.podSelector, SANDBOX))
    expect(forSandbox.map((policy) => policy.metadata.name)).toEqual(["perstack-sandbox"])
    for (const { spec } of forSandbox) {
      expect(spec.policyTypes.sort()).toEqual(["Egress", "Ingress"])
      expect(spec.ingress ?? []).toEqual([])
      for (const rule of spec.egress ?? []) {
        expect(rule.to?.length, "a rule without `to` allows every destination").toBeGreaterThan(0)
        expect(rule.ports?.length, "a rule without ports allows every port").toBeGreaterThan(0)
        const peers = rule.to ?? []
        const isDns = peers.every(
          (peer) =>
            peer.ipBlock === undefined &&
            peer.namespaceSelector !== undefined &&
            selects(peer.namespaceSelector, KUBE_SYSTEM) &&
            !selects(peer.namespaceSelector, { "kubernetes.io/metadata.name": "perstack" }) &&
            peer.podSelector !== undefined &&
            selects(peer.podSelector, KUBE_DNS) &&
            !selects(peer.podSelector, {}),
        )
        const isGateway = peers.every(
          (peer) =>
            peer.ipBlock === undefined &&
            peer.namespaceSelector === undefined &&
            peer.podSelector !== undefined &&
            orchestratorPods.every((labels) => selects(peer.podSelector ?? {}, labels)) &&
            !selects(peer.podSelector, SANDBOX) &&
            !selects(peer.podSelector, { app: "anything-else" }),
        )
        const ports = (rule.ports ?? []).map((p) => `${p.protocol}/${p.port}`).sort()
        if (isDns) expect(ports).toEqual(["TCP/53", "UDP/53"])
        else if (isGateway) expect(ports).toEqual([`TCP/${GATEWAY_PORT}`])
        else expect.fail(`egress rule to neither DNS nor the orchestrator: ${JSON.stringify(rule)}`)
      }
    }
  })

  it("lets the orchestrator's Job pod accept only sandboxes, on the gateway port", () => {
    const [jobPod] = orchestratorPods
    const forOrchestrator = policies.filter((policy) => selects(policy.spec.podSelector, jobPod ?? {}))
    expect(forOrchestrator.map((policy) => policy.metadata.name)).toEqual(["perstack-orchestrator"])
    const ingress = forOrchestrator.flatMap((policy) => policy.spec.ingress ?? [])
    expect(ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "perstack-sandbox" } } }],
        ports: [{ protocol: "TCP", port: GATEWAY_PORT }],
      },
    ])
  })
})

describe("checkManifest", () => {
  const job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "broken" },
    spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "x" }] } } },
  }

  it("accepts a valid object", () => {
    expect(checkManifest(job)).toEqual([])
  })

  it("names each wrong type, bad enum value and missing required field", () => {
    const broken = {
      ...job,
      spec: {
        backoffLimit: "zero",
        template: { spec: { restartPolicy: "Sometimes", containers: [{ image: "x" }] } },
      },
    }
    expect(checkManifest(broken).sort()).toEqual([
      "Job broken: /spec/backoffLimit must be of type integer",
      "Job broken: /spec/template/spec/containers/0 is missing required field name",
      'Job broken: /spec/template/spec/restartPolicy must be one of "Always", "Never", "OnFailure"',
    ])
  })

  it("reports what it has no schema for, and what is no object at all", () => {
    expect(checkManifest({ ...job, apiVersion: "apps/v1" })).toEqual([
      expect.stringMatching(/^Job broken: no schema for apps\/v1 Job/),
    ])
    expect(checkManifest({ apiVersion: "v1", kind: "Frobnicator" })).toEqual([
      expect.stringMatching(/^Frobnicator \(unnamed\): no schema/),
    ])
    expect(checkManifest("kind: Job")).toEqual(["not a Kubernetes object: needs string apiVersion and kind"])
  })

  it("cannot see unknown fields or invalid names (the API server's job)", () => {
    expect(
      checkManifest({ ...job, metadata: { name: "Not_A_DNS_Name" }, spec: { ...job.spec, bogus: 1 } }),
    ).toEqual([])
  })
})
