import { describe, expect, it } from "vitest"
import { parseConfigText } from "../config/load-config.ts"
import { modelFor, resolveSettings, type SettingOverrides } from "./settings.ts"

const config = (toml: string) => parseConfigText(toml, "perstack.toml").config

/** The model each Expert's runs get, for a file and the command line's overrides. */
function models(toml: string, overrides: SettingOverrides = {}) {
  const parsed = config(toml)
  const settings = resolveSettings(parsed, overrides)
  return Object.fromEntries(
    Object.entries(parsed.experts).map(([key, expert]) => [key, modelFor(settings, expert)]),
  )
}

const TEAM = `
[experts."lead"]
defaultModelTier = "high"
instruction = "Lead."
delegates = ["artist", "helper"]

[experts."artist"]
defaultModelTier = "low"
instruction = "Draw."

[experts."helper"]
instruction = "Help."
`

describe("model tiers", () => {
  it("resolve each Expert's tier for the provider; an Expert without one gets the provider's middle tier", () => {
    expect(models(TEAM)).toEqual({
      lead: "claude-opus-4-6",
      artist: "claude-haiku-4-5",
      helper: "claude-sonnet-4-5",
    })
    expect(models(`[provider]\nproviderName = "openai"\n${TEAM}`)).toEqual({
      lead: "gpt-5",
      artist: "gpt-5-nano",
      helper: "gpt-5-mini",
    })
    expect(models(TEAM, { provider: "google" })).toEqual({
      lead: "gemini-2.5-pro",
      artist: "gemini-2.5-flash-lite",
      helper: "gemini-2.5-flash",
    })
  })

  it("--model wins over every tier", () => {
    const all = "accounts/fireworks/models/kimi-k2p5"
    expect(models(TEAM, { provider: "fireworks", model: all })).toEqual({
      lead: all,
      artist: all,
      helper: all,
    })
  })

  it("a tier wins over the file's model, which an Expert without a tier gets", () => {
    expect(models(`model = "gpt-4.1"\n[provider]\nproviderName = "openai"\n${TEAM}`)).toEqual({
      lead: "gpt-5",
      artist: "gpt-5-nano",
      helper: "gpt-4.1",
    })
  })

  it("falls back to the nearest tier the provider has, then to the job's model", () => {
    // groq serves no "high" model in the table: the cascade takes "middle".
    expect(models(TEAM, { provider: "groq" })).toMatchObject({
      lead: "openai/gpt-oss-120b",
      artist: "openai/gpt-oss-20b",
    })
    // openai-compatible has no table: every tier is the file's model.
    const custom = `model = "my-model"\n[provider]\nproviderName = "openai-compatible"\n[provider.setting]\nbaseUrl = "https://llm.example.com/v1"\n${TEAM}`
    expect(models(custom)).toEqual({ lead: "my-model", artist: "my-model", helper: "my-model" })
  })

  it("refuses a tier upstream does not have, with the values it takes", () => {
    expect(() => config(`[experts."a"]\ndefaultModelTier = "mid"\ninstruction = "x"\n`)).toThrow(
      /experts\."a"\.defaultModelTier: .*"low".*"middle".*"high".*got "mid"/,
    )
  })
})

describe("the provider", () => {
  const FILE = `[provider]\nproviderName = "openai"\n[provider.setting]\nbaseUrl = "https://llm.example/v1"\norganization = "acme"\n${TEAM}`

  it("named alone keeps the file's settings for the same provider, and drops them for another", () => {
    expect(resolveSettings(config(FILE), { provider: "openai" }).provider).toEqual({
      providerName: "openai",
      setting: { baseUrl: "https://llm.example/v1", organization: "acme" },
    })
    expect(resolveSettings(config(FILE), { provider: "fireworks" }).provider).toEqual({
      providerName: "fireworks",
    })
  })

  it("given as a table (the library's providerConfig) is laid over the file's settings key by key", () => {
    const given = { providerName: "openai", setting: { baseUrl: "https://other.example/v1" } } as const
    expect(resolveSettings(config(FILE), { provider: given }).provider).toEqual({
      providerName: "openai",
      setting: { baseUrl: "https://other.example/v1", organization: "acme" },
    })
    expect(resolveSettings(config(TEAM), { provider: given }).provider).toEqual(given)
  })
})

describe("settings a caller overrides", () => {
  const file = config(`[experts."lead"]\ninstruction = "Lead."\n`)

  it("win over the file and the defaults, and the rest is filled in", () => {
    const settings = resolveSettings(file, { maxSteps: 7, sandbox: "local", gateway: false })
    expect(settings).toMatchObject({
      maxSteps: 7,
      maxRetries: 5,
      concurrency: 4,
      sandbox: "local",
      gateway: false,
    })
  })

  it("are refused when wrong, each named by its key, as a JavaScript caller of the library may give them", () => {
    const wrong = { maxSteps: "ten", concurrency: 0, sandbox: "vm" } as unknown as SettingOverrides
    expect(() => resolveSettings(file, wrong)).toThrow(
      expect.objectContaining({
        code: "usage",
        message: expect.stringMatching(
          /^invalid settings: maxSteps: .*number.*; concurrency: .*; sandbox: .*"local"/,
        ),
      }),
    )
  })
})
