// buildExecEnv: only the allow-list passes from the sandbox; protected names from the model are refused by name.
import { describe, expect, it } from "vitest"
import { buildExecEnv, EXEC_PASSTHROUGH_ENV, PROTECTED_ENV_NAMES } from "./exec-env.ts"

describe("buildExecEnv", () => {
  const sandboxEnv = {
    PATH: "/usr/bin",
    HOME: "/home/u",
    http_proxy: "http://proxy:3128",
    OPENAI_API_KEY: "sk-openai",
    PERSTACK_API_KEY: "psk",
    EMPTY: undefined,
  }

  it("keeps only the allow-listed sandbox variables, then adds the model's", () => {
    expect(buildExecEnv({ sandboxEnv, requested: { FOO: "bar", TERM: "dumb" } })).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/u",
      http_proxy: "http://proxy:3128",
      FOO: "bar",
      TERM: "dumb",
    })
  })

  it("refuses every protected name whatever its case, naming them all", () => {
    expect(() =>
      buildExecEnv({ sandboxEnv, requested: { Path: "/evil", ld_preload: "x.so", OK: "1" } }),
    ).toThrow(/Path, ld_preload/)
    for (const name of PROTECTED_ENV_NAMES) {
      expect(() => buildExecEnv({ sandboxEnv, requested: { [name]: "x" } }), name).toThrow(name)
    }
  })

  it("refuses malformed names", () => {
    expect(() => buildExecEnv({ sandboxEnv, requested: { "A=B": "x" } })).toThrow(/Invalid environment/)
  })

  it("lists no secrets among the pass-through names", () => {
    expect(EXEC_PASSTHROUGH_ENV.filter((name) => /API_KEY|TOKEN|SECRET|PASSWORD/.test(name))).toEqual([])
  })
})
