// Which hosts a run's sandbox may reach through the egress proxy: its Expert's skills' `allowedDomains`, and the
// endpoints of its remote skills (declared by the same user, and unreachable otherwise).
import type { ExpertConfig } from "../../runtime/protocol/config/expert.ts"

/** Lower case, without the trailing dot of a fully qualified name: how hosts are compared. */
export function normalHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, "")
}

/**
 * Whether `host` is one of `domains`: "example.com" is that name alone; "*.example.com" is any name under it, at
 * any depth, but not example.com itself (the safer reading: a user who wants both lists both).
 */
export function domainAllowed(domains: readonly string[], host: string): boolean {
  const name = normalHost(host)
  return domains.some((entry) => {
    const domain = normalHost(entry)
    if (!domain.startsWith("*.")) return name === domain
    const suffix = domain.slice(1)
    return name.length > suffix.length && name.endsWith(suffix)
  })
}

/**
 * Where a package runner fetches what it runs: a skill started with npx or uvx needs its registry (as the original's
 * proxy always allowed the npm registry), or it could not start in a locked-down sandbox.
 */
const PACKAGE_REGISTRIES: Readonly<Record<string, readonly string[]>> = {
  npx: ["registry.npmjs.org"],
  uvx: ["pypi.org", "files.pythonhosted.org"],
}

/** The domains an Expert's sandbox may reach through the proxy, sorted, without duplicates; empty for none. */
export function egressDomains(expert: ExpertConfig): string[] {
  const domains = new Set<string>()
  for (const skill of Object.values(expert.skills)) {
    if (skill.type === "interactiveSkill") continue
    if (skill.type === "mcpStdioSkill") {
      for (const registry of PACKAGE_REGISTRIES[skill.command] ?? []) domains.add(registry)
    }
    for (const domain of skill.allowedDomains ?? []) domains.add(normalHost(domain))
    if (skill.type !== "mcpStdioSkill") {
      const host = URL.parse(skill.endpoint)?.hostname
      // An IP address is never a domain of the allowlist (the proxy resolves names, and checks what they are).
      if (host && !host.startsWith("[") && !/^[\d.]+$/.test(host)) domains.add(normalHost(host))
    }
  }
  return [...domains].sort()
}
