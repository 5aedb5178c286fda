// The focused run's streamed reasoning and answer, and its latest tool calls and results.
import { Box, Text } from "ink"
import type { LiveState } from "./live-state.ts"

const lastLines = (text: string, count: number) =>
  text
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .slice(-count)

interface Line {
  text: string
  color?: string
  dim?: boolean
}

/** The lines are the tail of a stream: a line's place is its identity. */
const numbered = (lines: Line[]) => lines.map((line, place) => ({ line, place }))

function Section(props: { title: string; color: string; lines: Line[] }) {
  if (props.lines.length === 0) return null
  return (
    <Box flexDirection="column">
      <Text color={props.color}>● {props.title}</Text>
      {numbered(props.lines).map(({ line, place }) => (
        <Text
          key={place}
          wrap="truncate-end"
          dimColor={Boolean(line.dim)}
          {...(line.color ? { color: line.color } : {})}
        >
          {line.text}
        </Text>
      ))}
    </Box>
  )
}

export function StreamPane(props: { state: LiveState; focusId?: string; lines: number }) {
  const { state, focusId } = props
  if (!focusId) return <Text dimColor>Waiting for the first run…</Text>
  const node = state.nodes[focusId]
  const share = Math.max(2, Math.floor((props.lines - 4) / 3))
  const reasoning = lastLines(state.reasoning[focusId] ?? "", share).map((text) => ({
    text: `  ${text}`,
    dim: true,
  }))
  const tools = state.activity
    .filter((line) => line.nodeId === focusId)
    .slice(-share)
    .map((line) => ({
      text: `${line.kind === "call" ? "  → " : "  ← "}${line.text}`,
      ...(line.kind === "error" ? { color: "red" } : {}),
    }))
  const answer = lastLines(state.answer[focusId] ?? "", share).map((text) => ({ text: `  ${text}` }))
  return (
    <Box flexDirection="column">
      <Text bold>
        {node?.expertKey ?? focusId}
        {node?.resumed ? " (resumed)" : ""}
      </Text>
      <Section title="Reasoning" color="magenta" lines={reasoning} />
      <Section title="Tools" color="blue" lines={tools} />
      <Section title="Answer" color="green" lines={answer} />
    </Box>
  )
}
