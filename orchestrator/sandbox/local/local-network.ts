// A local sandbox's network: shared with the host (the default), or, with network = "gateway", a namespace of its own
// whose only ways out are the orchestrator's gateway and egress proxy, through relay sockets.
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import type { SandboxServices, SandboxStartOptions } from "../sandbox.ts"
import type { RelayTarget, UnixRelays } from "./unix-relay.ts"

/**
 * network = "gateway" (asked for; a local sandbox shares the host's network by default): a network namespace of its
 * own, whose only ways out are the gateway and the egress proxy. It needs both the gateway and isolation.
 */
export function localNetwork(
  start: Pick<SandboxStartOptions, "settings" | "services"> & { expertKey: string },
  isolated: boolean,
): "gateway" | "open" {
  const network = start.settings?.network ?? "open"
  const expert = start.expertKey
  if (network === "none") {
    throw new PerstackError(
      "sandbox.networkNone",
      `Expert "${expert}" has [experts."${expert}".sandbox] network = "none": its sandbox could not reach the LLM. Use network = "gateway" (only the LLM gateway and the skills' allowedDomains) or "open"`,
    )
  }
  if (network === "gateway" && !start.services) {
    throw new PerstackError(
      "sandbox.networkNeedsGateway",
      `Expert "${expert}" has [experts."${expert}".sandbox] network = "gateway", but this job's LLM gateway is off (--no-gateway), so its locked-down sandbox could reach no LLM. Turn the gateway on, or use network = "open"`,
    )
  }
  if (network === "gateway" && !isolated) {
    throw new PerstackError(
      "sandbox.notIsolated",
      `Expert "${expert}" has [experts."${expert}".sandbox] network = "gateway", which a local sandbox gets only under bubblewrap, and it cannot run here: install bubblewrap, use --sandbox docker, or network = "open"`,
    )
  }
  return network === "gateway" ? "gateway" : "open"
}

export function relayTargets(services: SandboxServices): RelayTarget[] {
  const targets: RelayTarget[] = []
  for (const [name, url] of [
    ["gateway", services.gateway],
    ["proxy", services.proxy],
  ] as const) {
    if (url === undefined) continue
    const parsed = new URL(url)
    targets.push({ name, host: parsed.hostname, port: Number(parsed.port) })
  }
  return targets
}

/** The sandbox's environment behind the relays: the proxy (when its Expert has allowed domains) at the same address. */
export function lockedDownLocalEnv(
  env: Readonly<Record<string, string>>,
  services: SandboxServices,
  relay: UnixRelays,
): Record<string, string> {
  const out: Record<string, string> = { ...env, PERSTACK_LOOPBACK_RELAYS: relay.spec }
  for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy"])
    delete out[name]
  if (services.proxy === undefined || services.proxyToken === undefined) return out
  const proxy = new URL(services.proxy)
  proxy.username = "perstack"
  proxy.password = services.proxyToken
  const url = proxy.toString().replace(/\/$/, "")
  return {
    ...out,
    HTTPS_PROXY: url,
    https_proxy: url,
    HTTP_PROXY: url,
    http_proxy: url,
    NODE_USE_ENV_PROXY: "1",
  }
}
