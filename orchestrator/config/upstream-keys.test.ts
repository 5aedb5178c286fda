// A perstack.toml written for upstream Perstack loads here: what upstream accepts is implemented or warned about by
// name; what upstream would refuse too stays an error with a suggestion.
import { describe, expect, it } from "vitest"
import { parseConfigText } from "./load-config.ts"

const load = (text: string) => parseConfigText(text, "perstack.toml")

describe("upstream's perstack.toml keys", () => {
  it("takes defaultModelTier without a warning: it is implemented", () => {
    const loaded = load(`[experts."a"]\ndefaultModelTier = "low"\ninstruction = "x"\n`)
    expect(loaded.config.experts.a?.defaultModelTier).toBe("low")
    expect(loaded.warnings).toEqual([])
  })

  it("keeps a misspelt key an error, with the key it was meant to be", () => {
    expect(() => load(`[experts."a"]\ndefaultModelTeir = "low"\ninstruction = "x"\n`)).toThrow(
      'experts."a".defaultModelTeir: unknown key "defaultModelTeir" (did you mean "defaultModelTier"?)',
    )
  })
})
