import { describe, expect, it } from "vitest"
import { MIN_PARTIAL, SecretScrubber } from "./secret-scrubber.ts"
import { StreamScrubber } from "./stream-scrubber.ts"

const KEY = "sk-proj-Zx81Qm3v7TqLw2"
const scrubber = new SecretScrubber([
  { name: "OPENAI_API_KEY", value: KEY },
  { name: "SECRET_WORD", value: "hunter2-hunter2" },
])
const TOKEN = `pgw-${"q".repeat(43)}`

/** The text cut into pieces of `size` characters (the first piece `offset` long), through one stream. */
function streamed(text: string, size: number, offset: number): string[] {
  const stream = new StreamScrubber(scrubber)
  const pieces = [text.slice(0, offset)]
  for (let at = offset; at < text.length; at += size) pieces.push(text.slice(at, at + size))
  return pieces.map((piece) => stream.push(piece))
}

/** Every substring of `secret` of MIN_PARTIAL characters: none may ever go out. */
const telling = (secret: string) =>
  Array.from({ length: secret.length - MIN_PARTIAL + 1 }, (_, at) => secret.slice(at, at + MIN_PARTIAL))

describe("a streamed text's scrubber", () => {
  it("never lets out MIN_PARTIAL characters of a secret, however the text is cut", () => {
    const text = `The key is ${KEY}, the word hunter2-hunter2 and the token ${TOKEN} - then more text.`
    const whole = scrubber.scrub(text)
    for (let size = 1; size <= 12; size++) {
      for (let offset = 0; offset <= 30; offset++) {
        const out = streamed(text, size, offset)
        const joined = out.join("")
        for (const part of [...telling(KEY), ...telling("hunter2-hunter2"), ...telling(TOKEN)]) {
          expect(joined, `size ${size}, offset ${offset}`).not.toContain(part)
        }
        // Put together, the pieces read as the whole text scrubbed, but for up to MIN_PARTIAL - 1 characters of a
        // secret's start that went out before it could be told from plain text.
        const folded = joined.replace(/(?:s|sk|sk-|h|hu|hun|p|pg|pgw)(?=\[redacted:)/g, "")
        expect(folded, `size ${size}, offset ${offset}`).toBe(whole)
      }
    }
  })

  it("gives back what it held when the text goes on otherwise: plain text comes out whole", () => {
    const text = "We went on the hunt and hunted, sk-proj-ish style, all day."
    for (let size = 1; size <= 9; size++) {
      expect(streamed(text, size, 0).join(""), `size ${size}`).toBe(text)
    }
    const stream = new StreamScrubber(scrubber)
    expect(stream.push("the hunt")).toBe("the ")
    expect(stream.push("ing season")).toBe("hunting season")
  })

  it("passes pieces through untouched when the job has no secrets", () => {
    const none = new StreamScrubber(new SecretScrubber([], []))
    expect(none.push("sk-proj-")).toBe("sk-proj-")
  })
})
