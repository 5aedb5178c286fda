// Where the gateway sends a run's request: the provider's URL for the path (Azure's deployment and api-version in
// it), the real credentials in its headers, one keep-alive agent, and the scrubber for a key the answer echoes.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http"
import http from "node:http"
import https from "node:https"
import { authHeader, requestTarget, resolveProvider } from "../../runtime/host/providers.ts"
import type { ProviderConfig } from "../../runtime/protocol/config/provider.ts"
import { isSecretValue, providerSecrets } from "../secrets/job-secrets.ts"
import { SecretScrubber } from "../secrets/secret-scrubber.ts"

/** Not forwarded in either direction: they describe one connection, or carry a credential the gateway replaces. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
  "authorization",
  "api-key",
  "x-api-key",
  "openai-organization",
  "openai-project",
])

/** The headers of one side that go on to the other, onto `base`. */
export function passedHeaders(
  from: IncomingHttpHeaders,
  base: OutgoingHttpHeaders = {},
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ...base }
  for (const [name, value] of Object.entries(from)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value
  }
  return headers
}

export interface ProviderUpstream {
  /** what the provider speaks besides OpenAI's wire: Anthropic's Messages API */
  wire: "openai" | "anthropic"
  /** the provider's own headers and credentials, which every forwarded request carries */
  headers: OutgoingHttpHeaders
  url(path: string, model: string | undefined): string
  agent: http.Agent
  transport: typeof http | typeof https
  /** set when the job has a provider credential an answer could echo back to the sandbox */
  answerSecrets: SecretScrubber | undefined
}

export function providerUpstream(
  provider: ProviderConfig,
  env: Readonly<Record<string, string | undefined>>,
): ProviderUpstream {
  const resolved = resolveProvider({ provider, env })
  const headers: OutgoingHttpHeaders = {
    ...resolved.headers,
    ...authHeader(resolved),
    ...(resolved.organization ? { "openai-organization": resolved.organization } : {}),
    ...(resolved.project ? { "openai-project": resolved.project } : {}),
  }
  // A provider may echo the key it was sent (an error saying which key it refused): the sandbox never gets it.
  const credentials = providerSecrets({ provider, env })
  if (isSecretValue(resolved.apiKey) && !credentials.some((secret) => secret.value === resolved.apiKey))
    credentials.push({ name: "provider-key", value: resolved.apiKey })
  const secure = resolved.baseUrl.startsWith("https:")
  return {
    wire: resolved.providerName === "anthropic" ? "anthropic" : "openai",
    headers,
    url(path, model) {
      const target = requestTarget(resolved, model ?? "")
      const url = new URL(`${target.baseUrl.replace(/\/+$/, "")}/${path}`)
      for (const [name, value] of Object.entries(target.query)) url.searchParams.set(name, value)
      return url.toString()
    },
    agent: secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true }),
    transport: secure ? https : http,
    answerSecrets: credentials.length > 0 ? new SecretScrubber(credentials, []) : undefined,
  }
}
