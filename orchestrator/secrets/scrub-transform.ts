// A byte stream passed on with every secret in it replaced: read as UTF-8 text, across chunk edges.

import { Transform } from "node:stream"
import { StringDecoder } from "node:string_decoder"
import type { SecretScrubber } from "./secret-scrubber.ts"
import { StreamScrubber } from "./stream-scrubber.ts"

export function scrubbingTransform(secrets: SecretScrubber): Transform {
  const decoder = new StringDecoder("utf8")
  const stream = new StreamScrubber(secrets)
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const text = stream.push(decoder.write(chunk))
      done(null, text === "" ? undefined : Buffer.from(text))
    },
    flush(done) {
      const text = stream.push(decoder.end()) + stream.end()
      done(null, text === "" ? undefined : Buffer.from(text))
    },
  })
}
