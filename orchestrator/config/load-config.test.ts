import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { ConfigError } from "./config-problem.ts"
import { loadConfig, parseConfigText } from "./load-config.ts"

const repo = path.resolve(import.meta.dirname, "../..")
const testdata = path.join(import.meta.dirname, "testdata")

async function problemsOf(file: string): Promise<string[]> {
  const error = await loadConfig({ configPath: file, cwd: repo }).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ConfigError)
  return (error as ConfigError).message.split("\n").filter((line) => !/^\s+\d+ \| /.test(line))
}

describe("the bundled examples", () => {
  it.each(["fitness-assistant", "news-researcher", "game-team"])("accepts examples/%s", async (name) => {
    const loaded = await loadConfig({ configPath: `examples/${name}/perstack.toml`, cwd: repo })
    expect(loaded.warnings).toEqual([])
    expect(Object.keys(loaded.config.experts).length).toBeGreaterThan(0)
  })

  it("keeps the seeds' delegation and skill settings", async () => {
    const team = await loadConfig({ configPath: "examples/game-team/perstack.toml", cwd: repo })
    expect(team.config.experts["ai-gaming"]?.delegates).toEqual([
      "@ai-gaming/level-designer",
      "@ai-gaming/programmer",
      "@ai-gaming/tester",
    ])
    const news = await loadConfig({ configPath: "examples/news-researcher/perstack.toml", cwd: repo })
    expect(news.config.experts["news-researcher"]?.skills["web-search"]).toMatchObject({
      type: "mcpStdioSkill",
      command: "npx",
      packageName: "exa-mcp-server",
      requiredEnv: ["EXA_API_KEY"],
    })
  })
})

describe("broken files", () => {
  it("names file, line and column of a TOML syntax error and shows the line", async () => {
    const error = (await loadConfig({
      configPath: path.join(testdata, "syntax-error.toml"),
      cwd: repo,
    }).catch((caught: unknown) => caught)) as ConfigError
    expect(error.code).toBe("config.syntax")
    expect(error.message).toMatch(
      /^orchestrator\/config\/testdata\/syntax-error\.toml:4:1: TOML syntax error: invalid value$/m,
    )
    expect(error.message).toContain('3:  delegates = ["editor",')
  })

  it("refuses unknown keys with a did-you-mean suggestion and the line", async () => {
    expect(await problemsOf(path.join(testdata, "unknown-keys.toml"))).toEqual([
      'orchestrator/config/testdata/unknown-keys.toml:1:1: modle: unknown key "modle" (did you mean "model"?)',
      'orchestrator/config/testdata/unknown-keys.toml:5:1: experts."writer".delgates: unknown key "delgates" (did you mean "delegates"?)',
      'orchestrator/config/testdata/unknown-keys.toml:11:1: experts."writer".skills."search".requiredEnvs: unknown key "requiredEnvs" (did you mean "requiredEnv"?)',
    ])
  })

  it("names a delegate that is not defined", async () => {
    expect(await problemsOf(path.join(testdata, "undefined-delegate.toml"))).toEqual([
      'orchestrator/config/testdata/undefined-delegate.toml:3:1: experts."fitness-assistant".delegates[0]: delegate "pro-trainr" is not defined in this file (did you mean "pro-trainer"?)',
    ])
  })

  it("reports every problem of a file, not only the first", async () => {
    const file = "orchestrator/config/testdata/many-problems.toml"
    expect(await problemsOf(path.join(testdata, "many-problems.toml"))).toEqual([
      `${file}:1:1: runtime: Invalid option: expected one of "local"|"docker"|"kubernetes", got "cursor"`,
      `${file}:2:1: maxSteps: Too small: expected number to be >0`,
      `${file}:5:1: provider.providerName: expected one of "anthropic", "google", "openai", "ollama", "azure-openai", "amazon-bedrock", "google-vertex", "deepseek", "fireworks", "openrouter", "groq", "together", "mistral", "openai-compatible", got "anthropc" (did you mean "anthropic"?)`,
      `${file}:7:1: experts."Fitness Assistant": invalid Expert key "Fitness Assistant": an Expert key is "name" or "@scope/name": lowercase letters, digits, "-" and "_", starting with a letter or digit`,
      `${file}:11:1: experts."coach".instruction: instruction must not be empty`,
      `${file}:13:1: experts."coach".delegates[0]: delegate "nobody" is not defined in this file`,
      `${file}:13:1: experts."coach".delegates[1]: an Expert reference is "name", "@scope/name", optionally followed by "@version" or "@tag"`,
      `${file}:14:1: experts."coach".tags[0]: a tag of lowercase letters, digits, - and _`,
      `${file}:17:1: experts."coach".skills."search".type: expected one of "mcpStdioSkill", "mcpSseSkill", "mcpHttpSkill", "interactiveSkill", got "mcpStdoSkill" (did you mean "mcpStdioSkill"?)`,
      `${file}:25:1: experts."coach".skills."ask".tools."confirm".inputJsonSchema: inputJsonSchema is not valid JSON: Expected property name or '}' in JSON at position 2 (line 1 column 3)`,
    ])
  })

  it("shows the offending source line under each schema problem", async () => {
    const error = (await loadConfig({
      configPath: path.join(testdata, "undefined-delegate.toml"),
      cwd: repo,
    }).catch((caught: unknown) => caught)) as ConfigError
    expect(error.message).toContain('    3 | delegates = ["pro-trainr"]')
  })
})

describe("skills", () => {
  const expert = (skill: string) => `[experts."x"]\ninstruction = "i"\n[experts."x".skills."s"]\n${skill}\n`
  const messages = (text: string) => {
    try {
      parseConfigText(text, "perstack.toml")
      return []
    } catch (error) {
      return (error as ConfigError).problems.map((problem) => `${problem.line}: ${problem.message}`)
    }
  }

  it("wants a package for npx and refuses packageName together with args", () => {
    expect(messages(expert('type = "mcpStdioSkill"\ncommand = "npx"'))).toEqual([
      '3: "npx" needs the package to run: set packageName or args',
    ])
    expect(
      messages(expert('type = "mcpStdioSkill"\ncommand = "npx"\npackageName = "a"\nargs = ["b"]')),
    ).toEqual(["6: set either packageName or args, not both"])
  })

  it("accepts a local command without args, and the base skill declared the original's way", () => {
    expect(messages(expert('type = "mcpStdioSkill"\ncommand = "./my-server"'))).toEqual([])
    expect(
      messages(
        '[experts."x"]\ninstruction = "i"\n[experts."x".skills."@perstack/base"]\ntype = "mcpStdioSkill"\ncommand = "npx"\npackageName = "@perstack/base"\npick = ["readTextFile"]\n',
      ),
    ).toEqual([])
  })

  it("checks allowed domains and remote endpoints", () => {
    expect(
      messages(
        expert(
          'type = "mcpSseSkill"\nendpoint = "https://mcp.example.com/sse"\nallowedDomains = ["*.example.com", "xn--80ak6aa92e.com"]',
        ),
      ),
    ).toEqual(["6: punycode (xn--) domains are not allowed"])
    expect(messages(expert('type = "mcpHttpSkill"\nendpoint = "not a url"'))).toEqual([
      "5: endpoint must be a URL",
    ])
  })

  it("wants http(s) base URLs, plain http only for localhost", () => {
    const provider = (url: string) =>
      `[provider]\nproviderName = "openai"\n[provider.setting]\nbaseUrl = "${url}"\n[experts."x"]\ninstruction = "i"\n`
    expect(messages(provider("http://127.0.0.1:8080/v1"))).toEqual([])
    expect(messages(provider("http://api.example.com/v1"))).toEqual([
      "4: baseUrl must be an https:// URL (plain http:// is allowed only for localhost)",
    ])
  })

  it("reads the sandbox table", () => {
    const text =
      '[experts."x"]\ninstruction = "i"\n[experts."x".sandbox]\nimage = "my/image:1"\ncpus = 1.5\nmemory = "512m"\nnetwork = "gateway"\ntimeout = 60000\n'
    expect(messages(text)).toEqual([])
    expect(messages(text.replace('"512m"', '"lots"'))).toEqual(['6: a size such as "512m" or "2Gi"'])
  })

  it("warns about keys kept only for compatibility", () => {
    const loaded = parseConfigText(
      'perstackApiBaseUrl = "https://api.perstack.ai"\n[experts."x"]\ninstruction = "i"\nproviderTools = ["webSearch"]\n',
      "perstack.toml",
    )
    expect(loaded.warnings.map((warning) => `${warning.line}: ${warning.message}`)).toEqual([
      "1: ignored: Experts are resolved from this file only (no registry)",
      "4: accepted for compatibility but not used (as in the original)",
    ])
  })
})

describe("finding perstack.toml", () => {
  const dirs: string[] = []
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
  })

  it("searches from the working directory upward", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "perstack-config-"))
    dirs.push(root)
    await writeFile(path.join(root, "perstack.toml"), '[experts."a"]\ninstruction = "i"\n')
    const deep = path.join(root, "x", "y")
    await mkdir(deep, { recursive: true })
    const loaded = await loadConfig({ cwd: deep })
    expect(loaded.file).toBe(path.join(root, "perstack.toml"))
  })

  it("says where it looked when there is none, and names a missing --config file", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "perstack-config-"))
    dirs.push(root)
    await expect(loadConfig({ cwd: root })).rejects.toThrow(
      /perstack\.toml: not found in .* or any folder above it/,
    )
    await expect(loadConfig({ cwd: root, configPath: "nope.toml" })).rejects.toThrow(
      `${path.join(root, "nope.toml")}: no such file (given by --config)`,
    )
  })
})
