// The execution screen: the focused run's stream on top, then the query, counts, tokens and the delegation tree.
import { Box, Text, useWindowSize } from "ink"
import type { LiveState } from "./live-state.ts"
import { LiveTree } from "./live-tree.tsx"
import { StatusPanel } from "./status-panel.tsx"
import { StreamPane } from "./stream-pane.tsx"

export function LiveView(props: {
  state: LiveState
  focusId?: string
  frame: number
  elapsedMs: number
  provider?: string
  /** a line under the tree: key hints, or what is happening (stopping…) */
  footer?: string
}) {
  const { columns, rows } = useWindowSize()
  const treeRows = Object.keys(props.state.nodes).length
  const streamLines = Math.max(4, rows - treeRows - 8)
  return (
    <Box flexDirection="column" width={columns}>
      <StreamPane
        state={props.state}
        lines={streamLines}
        {...(props.focusId ? { focusId: props.focusId } : {})}
      />
      <StatusPanel
        state={props.state}
        elapsedMs={props.elapsedMs}
        width={columns}
        {...(props.provider ? { provider: props.provider } : {})}
      />
      <LiveTree
        state={props.state}
        frame={props.frame}
        {...(props.focusId ? { focusId: props.focusId } : {})}
      />
      {props.footer && <Text dimColor>{props.footer}</Text>}
    </Box>
  )
}
