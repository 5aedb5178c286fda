// Checks a Kubernetes object offline against the OpenAPI schema bundled in kubernetes-models@5.1.0: the
// manifests under k8s/, and the Jobs and Secrets the Kubernetes backend generates. Import it from tests only:
// kubernetes-models is a dev dependency.
//
// What it catches: a wrong apiVersion/kind pair, wrong types (a string where an integer goes), values outside
// an enum (restartPolicy, seccomp type, protocol), missing required fields (a container's name, a roleRef).
// What it cannot catch:
// - unknown or misspelt fields: the schema allows extra properties, so `imagePulPolicy` passes (a server
//   drops it silently unless asked for fieldValidation=Strict, which needs >= 1.25);
// - names and label values: DNS-1123 names, label syntax and lengths are the API server's (a 422);
// - admission: Pod Security Admission, quotas, LimitRanges, webhooks, defaulting;
// - references between objects: a missing ServiceAccount, ConfigMap, Secret, claim or Role;
// - server versions: the schema is Kubernetes ~1.30 while the e2e cluster is 1.20, which lacks fields this
//   accepts (podFailurePolicy needs >= 1.25) and drops them silently.
import { validate as deployment } from "kubernetes-models/_schemas/IoK8sApiAppsV1Deployment"
import { validate as job } from "kubernetes-models/_schemas/IoK8sApiBatchV1Job"
import { validate as configMap } from "kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap"
import { validate as namespace } from "kubernetes-models/_schemas/IoK8sApiCoreV1Namespace"
import { validate as persistentVolumeClaim } from "kubernetes-models/_schemas/IoK8sApiCoreV1PersistentVolumeClaim"
import { validate as pod } from "kubernetes-models/_schemas/IoK8sApiCoreV1Pod"
import { validate as secret } from "kubernetes-models/_schemas/IoK8sApiCoreV1Secret"
import { validate as service } from "kubernetes-models/_schemas/IoK8sApiCoreV1Service"
import { validate as serviceAccount } from "kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount"
import { validate as networkPolicy } from "kubernetes-models/_schemas/IoK8sApiNetworkingV1NetworkPolicy"
import { validate as role } from "kubernetes-models/_schemas/IoK8sApiRbacV1Role"
import { validate as roleBinding } from "kubernetes-models/_schemas/IoK8sApiRbacV1RoleBinding"
import { z } from "zod"

/** The kinds Perstack writes, by `apiVersion/kind`; anything else is reported, not waved through. */
const SCHEMAS: Readonly<Record<string, (data: unknown) => boolean>> = {
  "v1/ConfigMap": configMap,
  "v1/Namespace": namespace,
  "v1/PersistentVolumeClaim": persistentVolumeClaim,
  "v1/Pod": pod,
  "v1/Secret": secret,
  "v1/Service": service,
  "v1/ServiceAccount": serviceAccount,
  "apps/v1/Deployment": deployment,
  "batch/v1/Job": job,
  "networking.k8s.io/v1/NetworkPolicy": networkPolicy,
  "rbac.authorization.k8s.io/v1/Role": role,
  "rbac.authorization.k8s.io/v1/RoleBinding": roleBinding,
}

const typeMeta = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.object({ name: z.string().optional(), generateName: z.string().optional() }).optional(),
})

// The compiled ajv validators leave their findings on the function's `errors` property.
const schemaErrors = z.array(
  z.object({ instancePath: z.string(), keyword: z.string(), params: z.record(z.string(), z.unknown()) }),
)

/** The problems with `object` as a Kubernetes manifest, each naming the object and the field; [] if none. */
export function checkManifest(object: unknown): string[] {
  const meta = typeMeta.safeParse(object)
  if (!meta.success) return ["not a Kubernetes object: needs string apiVersion and kind"]
  const { apiVersion, kind, metadata } = meta.data
  const label = `${kind} ${metadata?.name ?? metadata?.generateName ?? "(unnamed)"}`
  const validate = SCHEMAS[`${apiVersion}/${kind}`]
  if (!validate)
    return [
      `${label}: no schema for ${apiVersion} ${kind} (checked kinds: ${Object.keys(SCHEMAS).join(", ")})`,
    ]
  if (validate(object)) return []
  const errors = schemaErrors.safeParse(Reflect.get(validate, "errors"))
  if (!errors.success) return [`${label}: does not match the ${apiVersion} ${kind} schema`]
  return errors.data.map((error) => `${label}: ${error.instancePath || "/"} ${describe(error)}`)
}

function describe(error: z.infer<typeof schemaErrors>[number]): string {
  const { keyword, params } = error
  if (keyword === "required") return `is missing required field ${String(params.missingProperty)}`
  if (keyword === "type") return `must be of type ${String(params.type)}`
  if (keyword === "enum" && Array.isArray(params.allowedValues))
    return `must be one of ${params.allowedValues.map((value) => JSON.stringify(value)).join(", ")}`
  return `fails schema keyword ${keyword} ${JSON.stringify(params)}`
}
