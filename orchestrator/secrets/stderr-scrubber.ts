// Scrubs sandboxes' stderr on its way to the user (`--verbose`): per run, across chunks, decoded on character edges.
import { StringDecoder } from "node:string_decoder"
import type { SecretScrubber } from "./secret-scrubber.ts"
import { StreamScrubber } from "./stream-scrubber.ts"

type OnStderr = (runId: string, chunk: Buffer) => void

/** `onStderr` fed the same chunks with every secret replaced (a secret split across two chunks too). */
export function scrubbedStderr(onStderr: OnStderr, secrets: SecretScrubber): OnStderr {
  const runs = new Map<string, { decoder: StringDecoder; stream: StreamScrubber }>()
  return (runId, chunk) => {
    let run = runs.get(runId)
    if (!run) {
      run = { decoder: new StringDecoder("utf8"), stream: new StreamScrubber(secrets) }
      runs.set(runId, run)
    }
    const text = run.stream.push(run.decoder.write(chunk))
    if (text !== "") onStderr(runId, Buffer.from(text))
  }
}
