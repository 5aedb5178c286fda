// `perstack start`'s prompts: the query for a new or continued job, the answer to a question, the follow-up after a
// job; the last two under the job's live view. Each calls back with the job to run next, or to quit.
import { Box, Text } from "ink"
import type { ReactNode } from "react"
import type { JobRequest, Phase, StartExit } from "./start-phases.ts"
import { questionText } from "./start-phases.ts"
import { TextPrompt } from "./text-prompt.tsx"

export interface PromptProps<P extends Phase["kind"]> {
  phase: Extract<Phase, { kind: P }>
  /** the job's live view above the prompt, where one ran */
  live?: ReactNode
  onRun: (request: JobRequest) => void
  onQuit: (exit: StartExit) => void
}

export function QueryScreen({ phase, onRun, onQuit }: PromptProps<"query">) {
  return (
    <Box flexDirection="column">
      <Text color="cyan">{phase.title} · Enter: start · Esc: quit</Text>
      <TextPrompt
        label="Query:"
        onSubmit={(query) =>
          onRun({
            expert: phase.expert,
            query,
            ...(phase.continueJob ? { continueJob: phase.continueJob } : {}),
            ...(phase.resumeFrom ? { resumeFrom: phase.resumeFrom } : {}),
          })
        }
        onCancel={() => onQuit({ code: 0 })}
      />
    </Box>
  )
}

export function AnswerScreen({ phase, live, onRun, onQuit }: PromptProps<"answer">) {
  return (
    <Box flexDirection="column">
      {live}
      <Text color="yellow">
        {phase.expert} asks{phase.question ? ` (${phase.question.toolName})` : ""}:{" "}
        {questionText(phase.question)}
      </Text>
      <TextPrompt
        label="Answer:"
        onSubmit={(answer) =>
          onRun({ expert: phase.expert, query: answer, continueJob: phase.jobId, interactiveAnswer: true })
        }
        onCancel={() =>
          onQuit({
            code: 4,
            message: `perstack: job ${phase.jobId} waits for your answer:\n  perstack start ${phase.expert} --continue-job ${phase.jobId} -i "<answer>"`,
          })
        }
      />
    </Box>
  )
}

export function FollowUpScreen({
  phase,
  live,
  onRun,
  onQuit,
  lastOutcome,
}: PromptProps<"followUp"> & { lastOutcome?: string }) {
  return (
    <Box flexDirection="column">
      {live}
      <Text color="green">
        {phase.headline} Type a follow-up to continue job {phase.jobId}, or Esc to quit.
      </Text>
      <TextPrompt
        label="Follow-up:"
        onSubmit={(query) => onRun({ expert: phase.expert, query, continueJob: phase.jobId })}
        onCancel={() => onQuit({ code: 0, ...(lastOutcome ? { message: `perstack: ${lastOutcome}` } : {}) })}
      />
    </Box>
  )
}
