import { describe, expect, it } from "vitest"
import { assertPublicEndpoint } from "./endpoint-guard.ts"

describe("assertPublicEndpoint", () => {
  it("refuses a public-looking name that resolves to a private address", async () => {
    const lookup = async () => [{ address: "93.184.216.34" }, { address: "fd00::5" }]
    await expect(assertPublicEndpoint(new URL("https://mcp.example.com/mcp"), lookup)).rejects.toMatchObject({
      code: "skill.privateEndpoint",
      message: expect.stringContaining("resolves to fd00::5, a unique local (private) address"),
    })
  })

  it("lets a public address through, and leaves an unresolvable name to the connection", async () => {
    await expect(
      assertPublicEndpoint(new URL("https://mcp.example.com"), async () => [{ address: "93.184.216.34" }]),
    ).resolves.toBeUndefined()
    const failing = async () => {
      throw new Error("ENOTFOUND")
    }
    await expect(assertPublicEndpoint(new URL("https://mcp.example.com"), failing)).resolves.toBeUndefined()
  })
})
