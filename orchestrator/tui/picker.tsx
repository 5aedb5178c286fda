// The selection screen of `perstack start` without arguments: the configured Experts, then the recent jobs.
import { Box, Text, useWindowSize } from "ink"
import type { Job } from "../../runtime/protocol/job.ts"
import { dateTime, oneLine } from "../text/text-preview.ts"
import { type ListItem, SelectList } from "./select-list.tsx"

export type Picked = { kind: "expert"; expertKey: string } | { kind: "job"; job: Job }

export function Picker(props: {
  experts: ReadonlyArray<{ key: string; description?: string }>
  jobs: readonly Job[]
  onPick: (picked: Picked) => void
  onHistory: () => void
  onQuit: () => void
}) {
  const { rows } = useWindowSize()
  const items: Array<ListItem<Picked>> = [{ label: "Experts", heading: true }]
  for (const expert of props.experts)
    items.push({
      label: expert.description ? `${expert.key} · ${oneLine(expert.description, 70)}` : expert.key,
      value: { kind: "expert", expertKey: expert.key },
    })
  if (props.experts.length === 0) items.push({ label: "(no perstack.toml here)", heading: true })
  if (props.jobs.length > 0) items.push({ label: "Recent jobs (Enter: continue)", heading: true })
  for (const job of props.jobs)
    items.push({
      label: `${job.coordinatorExpertKey} · ${job.status} · ${dateTime(job.startedAt)} · ${job.id}`,
      value: { kind: "job", job },
    })
  return (
    <Box flexDirection="column">
      <Text color="cyan">perstack start · ↑↓ select · Enter: choose · h: history · q: quit</Text>
      <SelectList
        items={items}
        height={rows - 2}
        onSelect={props.onPick}
        onKey={(input) => {
          if (input === "h") props.onHistory()
          else if (input === "q") props.onQuit()
        }}
      />
    </Box>
  )
}
