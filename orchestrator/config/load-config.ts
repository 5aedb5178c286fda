// Finds, parses and validates perstack.toml, reporting every problem with its file, line and key path.
import { readFile, stat } from "node:fs/promises"
import path from "node:path"
import { parse, TomlError } from "smol-toml"
import type { z } from "zod"
import { EXPERT_KEY_PATTERN } from "../../runtime/protocol/config/expert-key.ts"
import { type PerstackConfig, perstackConfigSchema } from "../../runtime/protocol/config/perstack-toml.ts"
import { ConfigError, type ConfigProblem, formatKeyPath } from "./config-problem.ts"
import { didYouMean } from "./did-you-mean.ts"
import { knownKeysAt } from "./schema-keys.ts"
import { indexTomlLines, type KeyPath, locate } from "./toml-locator.ts"
import { tomlSyntaxReason } from "./toml-syntax.ts"

export const CONFIG_FILE_NAME = "perstack.toml"

export interface LoadedConfig {
  /** absolute path of the file read */
  file: string
  /** the file's text, as read (the lockfile's hash is taken over it) */
  text: string
  config: PerstackConfig
  /** accepted but worth knowing (keys kept for compatibility that do nothing here) */
  warnings: ConfigProblem[]
}

/** `--config PATH` (relative to cwd), or the nearest perstack.toml from cwd upward. */
export async function findConfigFile(options: { configPath?: string; cwd: string }): Promise<string> {
  if (options.configPath !== undefined) {
    const file = path.resolve(options.cwd, options.configPath)
    const info = await stat(file).catch(() => undefined)
    if (!info?.isFile()) {
      throw new ConfigError("config.notFound", [
        { file, path: [], message: "no such file (given by --config)" },
      ])
    }
    return file
  }
  for (let dir = path.resolve(options.cwd); ; dir = path.dirname(dir)) {
    const file = path.join(dir, CONFIG_FILE_NAME)
    if ((await stat(file).catch(() => undefined))?.isFile()) return file
    if (path.dirname(dir) === dir) break
  }
  throw new ConfigError("config.notFound", [
    {
      file: CONFIG_FILE_NAME,
      path: [],
      message: `not found in ${options.cwd} or any folder above it; create one or pass --config PATH`,
    },
  ])
}

export async function loadConfig(options: { configPath?: string; cwd: string }): Promise<LoadedConfig> {
  const file = await findConfigFile(options)
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(
      "config.unreadable",
      [{ file, path: [], message: `cannot read: ${error.message}` }],
      {
        cause: error,
      },
    )
  })
  return { file, text, ...parseConfigText(text, file) }
}

/** Parses perstack.toml text; `file` is used in messages. Throws a ConfigError listing every problem. */
export function parseConfigText(text: string, file: string): Omit<LoadedConfig, "file" | "text"> {
  const display = path.relative(process.cwd(), file) || file
  let raw: unknown
  try {
    raw = parse(text)
  } catch (error) {
    if (!(error instanceof TomlError)) throw error
    const reason = tomlSyntaxReason(error, text)
    throw new ConfigError(
      "config.syntax",
      [
        {
          file: display,
          line: error.line,
          column: error.column,
          path: [],
          message: `TOML syntax error: ${reason}`,
          excerpt: error.codeblock.replace(/\n+$/, ""),
        },
      ],
      { cause: error },
    )
  }
  const lines = indexTomlLines(text)
  const sourceLines = text.split(/\r?\n/)
  const problem = (at: KeyPath, message: string): ConfigProblem => {
    const line = locate(lines, at)
    const excerpt =
      line === undefined ? undefined : `${String(line).padStart(5)} | ${sourceLines[line - 1] ?? ""}`
    return { file: display, line, path: at, message, excerpt }
  }

  const result = perstackConfigSchema.safeParse(raw)
  const problems = [
    ...(result.success ? [] : result.error.issues.flatMap((issue) => describeIssue(issue, raw, problem))),
    ...undefinedDelegates(raw, problem),
  ].sort(
    (a, b) =>
      (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) ||
      formatKeyPath(a.path).localeCompare(formatKeyPath(b.path)),
  )
  if (!result.success || problems.length > 0) throw new ConfigError("config.invalid", problems)
  return { config: result.data, warnings: compatibilityWarnings(result.data, problem) }
}

type MakeProblem = (at: KeyPath, message: string) => ConfigProblem

function valueAt(data: unknown, at: KeyPath): unknown {
  return at.reduce<unknown>(
    (value, key) =>
      typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined,
    data,
  )
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, problem: MakeProblem): ConfigProblem[] {
  const at = issue.path.filter((segment): segment is string | number => typeof segment !== "symbol")
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeysAt(perstackConfigSchema, at, raw)
      return issue.keys.map((key) => problem([...at, key], `unknown key "${key}"${didYouMean(key, known)}`))
    }
    case "invalid_key": {
      const what = at.length === 2 && at[0] === "experts" ? "Expert key" : "key"
      const reason = issue.issues.map((inner) => inner.message).join("; ")
      return [problem(at, `invalid ${what} "${String(at.at(-1))}": ${reason}`)]
    }
    case "invalid_union": {
      const options = (issue as { options?: unknown[] }).options
      if (options) {
        const given = valueAt(raw, at)
        const list = options.map((option) => JSON.stringify(option)).join(", ")
        const hint = typeof given === "string" ? didYouMean(given, options.map(String)) : ""
        return [problem(at, `expected one of ${list}, got ${JSON.stringify(given)}${hint}`)]
      }
      return [problem(at, issue.message)]
    }
    case "invalid_value": {
      const given = valueAt(raw, at)
      const hint = typeof given === "string" ? didYouMean(given, issue.values.map(String)) : ""
      return [problem(at, `${issue.message}, got ${JSON.stringify(given)}${hint}`)]
    }
    case "invalid_type": {
      const given = valueAt(raw, at)
      return [
        problem(
          at,
          given === undefined
            ? `is required (expected ${issue.expected})`
            : typeof given === "number" && issue.expected === "number"
              ? // TOML's inf and nan, and a literal too large for a double (1e309), are numbers JSON has no room for.
                `expected a finite number, got ${String(given)}`
              : `expected ${issue.expected}, got ${Array.isArray(given) ? "array" : typeof given}`,
        ),
      ]
    }
    default:
      return [problem(at, issue.message)]
  }
}

/** Checked on the raw data so it is reported alongside every other problem, not only once the rest is valid. */
function undefinedDelegates(raw: unknown, problem: MakeProblem): ConfigProblem[] {
  const experts = valueAt(raw, ["experts"])
  if (typeof experts !== "object" || experts === null) return []
  const defined = Object.keys(experts)
  return Object.entries(experts).flatMap(([key, expert]) => {
    const delegates = valueAt(expert, ["delegates"])
    if (!Array.isArray(delegates)) return []
    return delegates.flatMap((delegate, index) =>
      typeof delegate === "string" && EXPERT_KEY_PATTERN.test(delegate) && !defined.includes(delegate)
        ? [
            problem(
              ["experts", key, "delegates", index],
              `delegate "${delegate}" is not defined in this file${didYouMean(delegate, defined)}`,
            ),
          ]
        : [],
    )
  })
}

function compatibilityWarnings(config: PerstackConfig, problem: MakeProblem): ConfigProblem[] {
  const warnings: ConfigProblem[] = []
  if (config.perstackApiBaseUrl !== undefined) {
    warnings.push(
      problem(["perstackApiBaseUrl"], "ignored: Experts are resolved from this file only (no registry)"),
    )
  }
  if (config.perstackBaseSkillCommand !== undefined) {
    warnings.push(problem(["perstackBaseSkillCommand"], "ignored: the base skill is built into the runtime"))
  }
  for (const [key, expert] of Object.entries(config.experts)) {
    for (const field of ["providerTools", "providerSkills", "providerToolOptions"] as const) {
      if (expert[field] !== undefined) {
        warnings.push(
          problem(["experts", key, field], "accepted for compatibility but not used (as in the original)"),
        )
      }
    }
  }
  return warnings
}
