// The live delegation tree: one line per conversation, "└" under its parent, its state, model and context usage.
import { Box, Text } from "ink"
import { contextFigure } from "./figures.ts"
import { type LiveState, treeOrder } from "./live-state.ts"
import { stateColor, stateMark } from "./tree-marks.ts"

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
        const color = stateColor(node.state)
        return (
          <Text key={node.id} wrap="truncate-end" inverse={focused}>
            {depth > 0 ? `${"  ".repeat(depth - 1)}└ ` : ""}
            <Text {...(color ? { color } : {})}>{stateMark(node.state, props.frame)}</Text>{" "}
            {facts.join(" · ")}
          </Text>
        )
      })}
    </Box>
  )
}
