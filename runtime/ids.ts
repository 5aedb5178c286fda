// Ids for checkpoints, events, messages and runs: time-ordered, random, URL- and file-name-safe.
import { randomBytes } from "node:crypto"

export type IdGenerator = () => string
export type Clock = () => number

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

/** 10 characters of milliseconds then 12 random ones (Crockford base32, lowercase): sortable by creation. */
export const newId: IdGenerator = () => {
  let time = Date.now()
  let head = ""
  for (let i = 0; i < 10; i++) {
    head = ALPHABET[time % 32] + head
    time = Math.floor(time / 32)
  }
  let tail = ""
  for (const byte of randomBytes(12)) tail += ALPHABET[byte % 32]
  return head + tail
}

export const systemClock: Clock = () => Date.now()
