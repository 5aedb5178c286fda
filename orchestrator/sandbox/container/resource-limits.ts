// A sandbox container's limits (docker or kubernetes): perstack.toml's `cpus` / `memory` over the defaults.
import type { SandboxSettings } from "../../../runtime/protocol/config/expert.ts"
import { MEMORY_PATTERN } from "../../../runtime/protocol/config/expert.ts"

export interface ResourceLimits {
  /** bytes; swap is set equal to it, so the container gets no swap on top */
  memoryBytes: number
  /** whole CPUs, fractional allowed */
  cpus: number
  /** processes and threads */
  pids: number
}

export const DEFAULT_LIMITS: ResourceLimits = { memoryBytes: 2 * 1024 ** 3, cpus: 2, pids: 512 }

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

/** `512m`, `2g`, `1.5Gi`, `256Mi`, `2GB` or a plain number of bytes (binary units, as Docker reads them). */
export function memoryBytes(value: number | string): number {
  if (typeof value === "number") return value
  const match = MEMORY_PATTERN.exec(value.trim())
  if (!match) throw new Error(`not a memory size: "${value}" (expected e.g. "512m" or "2Gi")`)
  const number = Number.parseFloat(value)
  // The unit's first letter decides: "m", "Mi" and "MB" are all MiB, as for `docker run --memory`.
  const unit = (match[2] ?? "").charAt(0).toLowerCase()
  return Math.round(number * (UNITS[unit] ?? 1))
}

export function resolveLimits(
  settings: SandboxSettings | undefined,
  defaults: ResourceLimits = DEFAULT_LIMITS,
): ResourceLimits {
  return {
    memoryBytes: settings?.memory !== undefined ? memoryBytes(settings.memory) : defaults.memoryBytes,
    cpus: settings?.cpus ?? defaults.cpus,
    pids: defaults.pids,
  }
}
