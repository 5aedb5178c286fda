// The environment `exec` runs with: a fixed allow-list from the sandbox's env, then the model's own variables.
import { PerstackError } from "../../errors/perstack-error.ts"

/** The only sandbox variables `exec` sees: provider API keys and other secrets in the sandbox env never reach it. */
export const EXEC_PASSTHROUGH_ENV: readonly string[] = [
  "PATH",
  "HOME",
  "SHELL",
  "TERM",
  "LANG",
  "LC_ALL",
  "TZ",
  "TMPDIR",
  "USER",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "http_proxy",
  "https_proxy",
  "NO_PROXY",
  "no_proxy",
  // Node's own fetch and http honour the proxy variables only when this is set (the docker backend sets it with them).
  "NODE_USE_ENV_PROXY",
  "NODE_PATH",
  "NPM_CONFIG_PROXY",
  "NPM_CONFIG_HTTPS_PROXY",
  "GIT_CONFIG_COUNT",
  "GIT_CONFIG_KEY_0",
  "GIT_CONFIG_VALUE_0",
  // A network that intercepts TLS needs its CA trusted by node-based tools too.
  "NODE_EXTRA_CA_CERTS",
]

/** Names the model may not set (compared case-insensitively): they change which code runs or where it is found. */
export const PROTECTED_ENV_NAMES: readonly string[] = [
  "PATH",
  "HOME",
  "SHELL",
  "NODE_PATH",
  "LD_PRELOAD",
  "LD_LIBRARY_PATH",
  "LD_AUDIT",
  "DYLD_INSERT_LIBRARIES",
  "DYLD_LIBRARY_PATH",
  "NODE_OPTIONS",
  "PYTHONPATH",
  "PYTHONSTARTUP",
  "PYTHONHOME",
  "PERL5LIB",
  "PERL5OPT",
  "RUBYLIB",
  "RUBYOPT",
  "BASH_ENV",
  "ENV",
  "GCONV_PATH",
  "JAVA_TOOL_OPTIONS",
]

const PROTECTED = new Set(PROTECTED_ENV_NAMES.map((name) => name.toUpperCase()))

export type ExecEnvOptions = {
  /** the sandbox's own environment */
  sandboxEnv: Record<string, string | undefined>
  /** the variables the model asked for */
  requested: Record<string, string>
  /** the user's `--env` names, passed on from the sandbox's env too */
  forwarded?: readonly string[]
}

/** Refuses (rather than silently drops) a protected or malformed name, so the model learns why. */
export function buildExecEnv({
  sandboxEnv,
  requested,
  forwarded = [],
}: ExecEnvOptions): Record<string, string> {
  const names = Object.keys(requested)
  const malformed = names.filter((name) => name === "" || name.includes("=") || name.includes("\0"))
  if (malformed.length > 0) {
    throw new PerstackError(
      "exec.invalidEnv",
      `Invalid environment variable name(s): ${malformed.map((name) => JSON.stringify(name)).join(", ")}.`,
    )
  }
  const refused = names.filter((name) => PROTECTED.has(name.toUpperCase()))
  if (refused.length > 0) {
    throw new PerstackError(
      "exec.protectedEnv",
      `exec cannot set the protected environment variable(s) ${refused.join(", ")}: they control which programs and libraries run. Remove them from "env".`,
    )
  }
  const env: Record<string, string> = {}
  for (const name of [...EXEC_PASSTHROUGH_ENV, ...forwarded]) {
    if (PROTECTED.has(name.toUpperCase()) && !EXEC_PASSTHROUGH_ENV.includes(name)) continue
    const value = sandboxEnv[name]
    if (value !== undefined) env[name] = value
  }
  return { ...env, ...requested }
}
