// A one-line text input: type, Backspace to erase, Enter to send, Esc to cancel.
import { Text, useInput } from "ink"
import { useRef, useState } from "react"

export function TextPrompt(props: {
  label: string
  onSubmit: (text: string) => void
  onCancel?: () => void
}) {
  // Keys can come faster than renders: the text lives in a ref, the state only redraws it.
  const text = useRef("")
  const [shown, setShown] = useState("")
  const set = (value: string) => {
    text.current = value
    setShown(value)
  }
  useInput((input, key) => {
    if (key.escape) {
      props.onCancel?.()
      return
    }
    if (key.backspace || key.delete) {
      set(text.current.slice(0, -1))
      return
    }
    // Typed fast (or pasted), text and Enter can come in one chunk.
    const newline = input.search(/[\r\n]/)
    if (key.return || newline >= 0) {
      const line = (text.current + (newline >= 0 ? input.slice(0, newline) : "")).trim()
      if (line.length > 0) {
        set("")
        props.onSubmit(line)
      }
      return
    }
    if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.tab)
      return
    set(text.current + input)
  })
  return (
    <Text>
      <Text color="cyan">{props.label} </Text>
      {shown}
      <Text inverse> </Text>
    </Text>
  )
}
