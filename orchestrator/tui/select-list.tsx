// A scrolling list to pick from with ↑/↓ and Enter; headings are shown but never selected.
import { Box, Text, useInput } from "ink"
import { useState } from "react"

export interface ListItem<T> {
  label: string
  value?: T
  /** a heading line: not selectable */
  heading?: boolean
  /** a heading drawn faint (tree connectors) rather than bold */
  faint?: boolean
  color?: string
}

export function SelectList<T>(props: {
  items: ReadonlyArray<ListItem<T>>
  height: number
  onSelect: (value: T) => void
  /** other keys, with the highlighted value */
  onKey?: (input: string, value: T | undefined) => void
}) {
  const selectable = props.items.flatMap((item, index) => (item.heading ? [] : [index]))
  const [cursor, setCursor] = useState(0)
  const index = selectable[Math.min(cursor, selectable.length - 1)]
  const current = index !== undefined ? props.items[index]?.value : undefined
  useInput((input, key) => {
    if (key.upArrow) setCursor((value) => Math.max(0, value - 1))
    else if (key.downArrow) setCursor((value) => Math.min(selectable.length - 1, value + 1))
    else if (key.return && current !== undefined) props.onSelect(current)
    else props.onKey?.(input, current)
  })
  const height = Math.max(3, props.height)
  const top = Math.max(0, Math.min((index ?? 0) - Math.floor(height / 2), props.items.length - height))
  return (
    <Box flexDirection="column">
      {props.items.slice(top, top + height).map((item, offset) => {
        const at = top + offset
        if (item.heading)
          return (
            <Text key={at} bold={!item.faint} dimColor={Boolean(item.faint)}>
              {item.label}
            </Text>
          )
        const selected = at === index
        return (
          <Text
            key={at}
            wrap="truncate-end"
            {...(item.color ? { color: item.color } : {})}
            inverse={selected}
          >
            {selected ? "> " : "  "}
            {item.label}
          </Text>
        )
      })}
    </Box>
  )
}
