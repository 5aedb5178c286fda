// Before connecting to a remote skill: the config check sees only the endpoint's text, so a public-looking name
// that resolves to a loopback, private or metadata address is refused here, by what it resolves to.
import { lookup as dnsLookup } from "node:dns/promises"
import { PerstackError } from "../../errors/perstack-error.ts"
import { privateHostReason } from "../../protocol/config/skill.ts"

export type Lookup = (hostname: string) => Promise<readonly { address: string }[]>

const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true })

/**
 * Throws `skill.privateEndpoint` if any address the name resolves to is not public. (The sandbox's network
 * policy is the real wall; this stops the obvious mistakes and tricks early, with a clear message.)
 */
export async function assertPublicEndpoint(url: URL, lookup: Lookup = systemLookup): Promise<void> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
  let addresses: readonly { address: string }[]
  try {
    addresses = await lookup(host)
  } catch {
    // Behind a proxy the sandbox may resolve nothing itself; the connection attempt reports a real failure.
    return
  }
  for (const { address } of addresses) {
    const reason = privateHostReason(address.includes(":") ? `[${address}]` : address)
    if (reason) {
      throw new PerstackError(
        "skill.privateEndpoint",
        `endpoint ${url.origin} resolves to ${address}, ${reason}; a remote skill must be a public endpoint (for a local development server, set allowPrivateEndpoint = true)`,
      )
    }
  }
}
