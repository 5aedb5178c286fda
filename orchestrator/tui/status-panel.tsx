// The bottom panel of the live view: the query, counts and time, token totals.
import { Box, Text } from "ink"
import { countStates, totalUsage } from "../job-tree/conversation-tree.ts"
import { oneLine } from "../text/text-preview.ts"
import { statusLine, tokenLine } from "./figures.ts"
import type { LiveState } from "./live-state.ts"

export function StatusPanel(props: {
  state: LiveState
  elapsedMs: number
  provider?: string
  width: number
}) {
  const { running, waiting } = countStates(props.state)
  return (
    <Box flexDirection="column">
      <Text dimColor>{"─".repeat(Math.max(10, props.width - 1))}</Text>
      {props.state.query !== undefined && (
        <Text wrap="truncate-end">Query: {oneLine(props.state.query, Math.max(20, props.width - 8))}</Text>
      )}
      <Text>
        {statusLine({
          running,
          waiting,
          elapsedMs: props.elapsedMs,
          ...(props.provider ? { provider: props.provider } : {}),
        })}
      </Text>
      <Text>{tokenLine(totalUsage(props.state))}</Text>
    </Box>
  )
}
