// The live delegation tree: one line per conversation, "└" under its parent, its state, model and context usage.
import { Box, Text } from "ink"
import { markColor, markGlyph } from "../job-tree/run-marks.ts"
import { contextFigure } from "./figures.ts"
import { type LiveState, treeOrder } from "./live-state.ts"

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
        // A segment still starting its sandbox is drawn as running: the spinner says something is under way.
        const mark = node.state === "starting" ? "running" : node.state
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
