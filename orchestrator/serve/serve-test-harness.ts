// Test support: `perstack serve` on loopback with the local backend on the runtime's source, two API keys, a temp root.
import { mkdtemp, realpath, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { parseConfigText } from "../config/load-config.ts"
import { createLocalBackend } from "../sandbox/local/local-backend.ts"
import { configText, RUNTIME_SOURCE } from "../testing/job-harness.ts"
import { ApiKeys, sha256Hex } from "./api-keys.ts"
import { type ServeHandle, type ServeOptions, startServe } from "./serve-server.ts"

export const KEYS = { alice: "psk-alice-secret-0123456789", bob: "psk-bob-secret-9876543210" } as const

export interface TestServer extends ServeHandle {
  root: string
  logs: string[]
}

/** With `options.root` the root is kept on close (a restart test reuses it); otherwise a temp root is removed. */
export async function startTestServer(
  llmUrl: string,
  experts: string,
  options: Partial<ServeOptions> = {},
): Promise<TestServer> {
  const ownRoot = options.root === undefined
  const root = options.root ?? (await realpath(await mkdtemp(path.join(tmpdir(), "perstack-serve-"))))
  const { config } = parseConfigText(configText(llmUrl, experts), "perstack.toml")
  const logs: string[] = []
  const handle = await startServe({
    config,
    settings: { maxRetries: 0, timeout: 10_000, reasoningBudget: "none" },
    env: { PATH: process.env.PATH, HOME: process.env.HOME, OPENAI_API_KEY: "sk-test-serve-key" },
    apiKeys: new ApiKeys(Object.entries(KEYS).map(([name, key]) => ({ name, sha256: sha256Hex(key) }))),
    backendFor: () => createLocalBackend({ runtimeEntry: RUNTIME_SOURCE }),
    host: "127.0.0.1",
    port: 0,
    log: (line) => logs.push(line),
    follow: { settleMs: 50, pollMs: 50 },
    ...options,
    root,
  })
  const closeServer = handle.close
  const close = async () => {
    await closeServer()
    if (ownRoot) await rm(root, { recursive: true, force: true })
  }
  return Object.assign(handle, { root, logs, close, [Symbol.asyncDispose]: close })
}
