// The live delegation tree: one line per conversation, "└" under its parent, its state, model and context usage.
import { Box, Text } from "ink"
import { markOfState, treeOrder } from "../job-tree/conversation-tree.ts"
import { markColor, markGlyph } from "../job-tree/run-marks.ts"
import { contextFigure } from "./figures.ts"
import type { LiveState } from "./live-state.ts"

export function LiveTree(props: { state: LiveState; focusId?: string; frame: number }) {
  const rows = treeOrder(props.state)
  return (
    <Box flexDirection="column">
      {rows.map(({ node, depth }) => {
        const facts = [node.expertKey + (node.resumed ? " (resumed)" : "")]
        if (node.model) facts.push(node.model)
        if (node.contextUsage !== undefined) facts.push(contextFigure(node.contextUsage))
        facts.push(node.activity)
        const focused = node.id === props.focusId
        const mark = markOfState(node.state)
        const color = markColor(mark)
        return (
          <Text key={node.id} wrap="truncate-end" inverse={focused}>
            {depth > 0 ? `${"  ".repeat(depth - 1)}└ ` : ""}
            <Text {...(color ? { color } : {})}>{markGlyph(mark, props.frame)}</Text> {facts.join(" · ")}
          </Text>
        )
      })}
    </Box>
  )
}
