// Context windows of well-known models, for the checkpoint's contextWindow and its usage ratio.

const WINDOWS: ReadonlyArray<readonly [RegExp, number]> = [
  [/claude-(opus|sonnet|haiku)-4|claude-3-7|claude-3-5/, 200_000],
  [/gemini-(2\.5|3)/, 1_048_576],
  [/gpt-5-chat/, 128_000],
  [/gpt-5/, 400_000],
  [/gpt-4\.1/, 1_047_576],
  [/^o[34]/, 200_000],
  [/deepseek-(chat|reasoner)/, 128_000],
  [/gpt-oss/, 131_072],
  [/gemma3:1b/, 32_000],
  [/gemma3/, 128_000],
  [/kimi-k2/, 256_000],
]

/** The model's context window in tokens, or undefined for a model we do not know. */
export function contextWindowOf(model: string): number | undefined {
  const id = model.toLowerCase()
  return WINDOWS.find(([pattern]) => pattern.test(id))?.[1]
}
