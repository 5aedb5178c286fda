// `perstack serve`: the Execution API over HTTP until the signal aborts, then a graceful stop (running jobs stay resumable).
import path from "node:path"
import { formatProblem } from "../config/config-problem.ts"
import { loadConfig } from "../config/load-config.ts"
import { loadEnv } from "../config/load-env.ts"
import { lockForRun, skillLocksFor } from "../install/lock-for-run.ts"
import { resolveSettings, type SettingOverrides } from "../job/settings.ts"
import { loadBackend } from "../sandbox/create-backend.ts"
import { notIsolatedNotice } from "../sandbox/local/local-backend.ts"
import { API_KEYS_ENV, ApiKeys } from "../serve/api-keys.ts"
import { startServe } from "../serve/serve-server.ts"
import { EXIT_BAD_INPUT } from "./exit-codes.ts"
import type { CommandIo } from "./validate.ts"

export interface ServeCommandOptions extends SettingOverrides {
  config?: string
  /** every job's workspace and the API's records live under it (default ./perstack-serve) */
  root?: string
  host?: string
  port?: number
  apiKeysFile?: string
  maxRunning?: number
  maxQueued?: number
  maxBodyBytes?: number
  envPath?: string[]
  verbose?: boolean
  /** serve several API keys although local sandboxes cannot be isolated here (they could read each other's jobs) */
  allowUnisolated?: boolean
}

export async function serveCommand(
  options: ServeCommandOptions,
  io: CommandIo & { signal?: AbortSignal },
): Promise<number> {
  const {
    config: configOption,
    root,
    host,
    port,
    apiKeysFile,
    maxRunning,
    maxQueued,
    maxBodyBytes,
    envPath,
    verbose,
    allowUnisolated,
    ...requested
  } = options
  const log = (line: string) => io.stderr(`perstack serve: ${line}\n`)
  const loaded = await loadConfig({ configPath: configOption, cwd: io.cwd })
  for (const warning of loaded.warnings) log(`warning: ${formatProblem(warning)}`)
  const lock = await lockForRun({ configFile: loaded.file, configText: loaded.text })
  if (lock.stale) log(`warning: ${lock.stale}`)
  const apiKeys = await ApiKeys.load({
    ...(apiKeysFile ? { file: path.resolve(io.cwd, apiKeysFile) } : {}),
    envValue: process.env[API_KEYS_ENV] ?? "",
  })
  if (apiKeys.size === 0) {
    io.stderr(
      `perstack serve: no API key: give --api-keys-file <file> (lines of {"name", "sha256"}) or ${API_KEYS_ENV}=name:sha256,...\n`,
    )
    return EXIT_BAD_INPUT
  }
  const loadedEnv = await loadEnv({
    dir: path.dirname(loaded.file),
    files: envPath ?? loaded.config.envPath,
    processEnv: process.env,
  })
  // The keys' hashes are the server's business, not a job's.
  const env = { ...loadedEnv, [API_KEYS_ENV]: undefined }
  // Fail now, not at the first job, on a backend this build cannot use.
  const makeBackend = await loadBackend(resolveSettings(loaded.config, requested).sandbox)
  const backend = makeBackend()
  const isolated = await backend.isolated()
  if (!isolated && apiKeys.size > 1 && !allowUnisolated) {
    io.stderr(
      `perstack serve: ${apiKeys.size} API keys, but local sandboxes are not isolated on this machine (bubblewrap is missing or cannot create namespaces): one key's jobs could read and rewrite another's. Install bubblewrap, use --sandbox docker, serve one key, or pass --allow-unisolated
`,
    )
    return EXIT_BAD_INPUT
  }
  if (!isolated) log(`warning: ${notIsolatedNotice() ?? "local sandboxes are not isolated"}`)
  // As for `perstack run`: isolated local sandboxes keep the provider key out through the gateway.
  const settings: SettingOverrides = {
    ...requested,
    ...(requested.gateway === undefined && backend.name === "local" && isolated ? { gateway: true } : {}),
  }
  const { lockfile } = lock
  const handle = await startServe({
    root: path.resolve(io.cwd, root ?? "perstack-serve"),
    config: loaded.config,
    settings,
    env,
    apiKeys,
    // The server's --sandbox is every job's: a request chooses its provider and model, not its backend.
    backendFor: () =>
      makeBackend({
        onStderr: verbose ? (runId, chunk) => io.stderr(`[${runId}] ${chunk.toString("utf8")}`) : undefined,
      }),
    ...(lockfile ? { skillLocksFor: (expertKey: string) => skillLocksFor(lockfile, expertKey) } : {}),
    ...(maxRunning !== undefined ? { maxRunning } : {}),
    ...(maxQueued !== undefined ? { maxQueued } : {}),
    ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
    host: host ?? "127.0.0.1",
    port: port ?? 8080,
    log,
  })
  log(
    `listening on ${handle.url} (${Object.keys(loaded.config.experts).length} Experts from ${loaded.file}, ${apiKeys.size} API keys, root ${handle.app.registry.root})`,
  )
  // Serves until the signal aborts (without one, until the process ends).
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) return resolve()
    io.signal?.addEventListener("abort", () => resolve(), { once: true })
  })
  log("stopping: no new requests; running jobs stop gracefully and stay resumable")
  await handle.close()
  log("stopped")
  return 0
}
