// The Kubernetes API's refusals as errors a user can act on: a 403 names the verb and resource the service
// account lacks, a 422 names the field, an unreachable server names the server.
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"

interface StatusCause {
  field?: string
  message?: string
  reason?: string
}

interface Status {
  message?: string
  reason?: string
  details?: { causes?: StatusCause[] }
}

/** What the backend was doing: "create" "jobs.batch" "perstack-x" in "agents". */
export interface ApiAction {
  verb: string
  resource: string
  name?: string
  namespace: string
}

function statusOf(body: unknown): Status | undefined {
  if (typeof body === "string") {
    try {
      return statusOf(JSON.parse(body))
    } catch {
      return body.trim() ? { message: body.trim() } : undefined
    }
  }
  return body && typeof body === "object" ? (body as Status) : undefined
}

function codeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === "number" ? code : undefined
}

export function apiStatusCode(error: unknown): number | undefined {
  return codeOf(error)
}

export function kubeApiError(error: unknown, action: ApiAction, server: string): PerstackError {
  if (error instanceof PerstackError) return error
  const code = codeOf(error)
  const status = statusOf((error as { body?: unknown } | null)?.body)
  const what = `${action.verb} ${action.resource}${action.name ? ` "${action.name}"` : ""} in namespace "${action.namespace}"`
  const said = status?.message ? `: ${status.message}` : ""
  switch (code) {
    case 401:
      return new PerstackError(
        "kubernetes.unauthorized",
        `the Kubernetes API at ${server} did not accept our credentials (401) to ${what}: check the kubeconfig's user (KUBECONFIG) or the pod's service account token`,
        { cause: error },
      )
    case 403:
      return new PerstackError(
        "kubernetes.forbidden",
        `the Kubernetes API refused to ${what} (403): the service account lacks the verb "${action.verb}" on "${action.resource}"; grant it in the Role bound to it (see k8s/base/role.yaml)${said}`,
        { cause: error },
      )
    case 404:
      return new PerstackError(
        "kubernetes.notFound",
        `the Kubernetes API found nothing to ${what} (404)${said}: check the namespace (PERSTACK_K8S_NAMESPACE) exists`,
        { cause: error },
      )
    case 409:
      return new PerstackError("kubernetes.conflict", `cannot ${what} (409)${said}`, { cause: error })
    case 422: {
      const fields = (status?.details?.causes ?? [])
        .map((cause) => `${cause.field ?? "?"}: ${cause.message ?? cause.reason ?? "invalid"}`)
        .join("; ")
      return new PerstackError(
        "kubernetes.invalid",
        `the Kubernetes API rejected the ${action.resource} to ${action.verb} (422)${fields ? `: ${fields}` : said}`,
        { cause: error },
      )
    }
    case undefined: {
      const reason = error instanceof Error ? error.message : String(error)
      return new PerstackError(
        "kubernetes.unavailable",
        `cannot reach the Kubernetes API at ${server} to ${what} (${reason}): check KUBECONFIG or that the cluster is up`,
        { cause: error },
      )
    }
    default:
      return new PerstackError(
        "kubernetes.apiError",
        `the Kubernetes API failed to ${what} (${code})${said}`,
        {
          cause: error,
        },
      )
  }
}
