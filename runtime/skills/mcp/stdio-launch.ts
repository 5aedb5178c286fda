// The command line of an mcpStdioSkill: `packageName` becomes npx's package, npx always gets `-y`, and a locked
// package version replaces the package argument so the run starts that version, not whatever is newest.
import path from "node:path"
import type { McpStdioSkill } from "../../protocol/config/skill.ts"

export interface StdioLaunch {
  command: string
  args: string[]
}

const isNpx = (command: string) => /^npx(\.cmd)?$/i.test(path.basename(command))

/** npx options that take a value in the next argument. */
const NPX_VALUE_OPTIONS = new Set(["--registry", "--cache", "--prefix", "--userconfig", "-w", "--workspace"])
/** npx options that make the command something other than one package's binary: nothing to pin then. */
const NPX_PACKAGE_OPTIONS = /^(-p|--package|-c|--call)(=|$)/

/** Where the package is in npx's arguments, or undefined when npx is told to run something else. */
export function npxPackageIndex(args: readonly string[]): number | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ""
    if (NPX_PACKAGE_OPTIONS.test(arg)) return undefined
    if (arg === "--") return i + 1 < args.length ? i + 1 : undefined
    if (NPX_VALUE_OPTIONS.has(arg)) i++
    else if (!arg.startsWith("-")) return i
  }
  return undefined
}

/**
 * The package name of a registry spec (`name`, `name@range`, `@scope/name@tag`); undefined for a path, tarball,
 * URL or git spec, which names no registry version to pin.
 */
export function registryPackageName(spec: string): string | undefined {
  const match = /^((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*)(?:@[^\s/:]+)?$/i.exec(spec)
  return match?.[1]
}

/** The npx package spec of a skill's command line, if it runs one from the registry. */
export function npxPackageOf(launch: StdioLaunch): { index: number; spec: string; name: string } | undefined {
  if (!isNpx(launch.command)) return undefined
  const index = npxPackageIndex(launch.args)
  const spec = index === undefined ? undefined : launch.args[index]
  const name = spec === undefined ? undefined : registryPackageName(spec)
  return index === undefined || spec === undefined || name === undefined ? undefined : { index, spec, name }
}

export function stdioLaunch(skill: McpStdioSkill, lockedPackage?: string): StdioLaunch {
  const args = skill.packageName !== undefined ? [skill.packageName] : [...skill.args]
  const launch = { command: skill.command, args }
  if (!isNpx(skill.command)) return launch
  // Without -y, npx would ask on stdin (the MCP channel) whether to install.
  const options = args.slice(0, npxPackageIndex(args) ?? args.length)
  if (!options.includes("-y") && !options.includes("--yes")) args.unshift("-y")
  const pkg = npxPackageOf(launch)
  if (pkg && lockedPackage !== undefined) args[pkg.index] = lockedPackage
  return launch
}
