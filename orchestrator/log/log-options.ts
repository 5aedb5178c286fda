// What `perstack log` is asked, as the command line hands it over (commander has parsed the numbers).

export interface LogOptions {
  /** a job id (default: the latest job) */
  job?: string
  /** one run's events (its job is found when --job is not given) */
  run?: string
  /** one checkpoint's details, and the events of its run */
  checkpoint?: string
  /** `5`, `>5`, `>=5`, `<5`, `<=5` or `1-10` */
  step?: string
  /** one event type, exactly */
  type?: string
  errors?: boolean
  tools?: boolean
  delegations?: boolean
  /** `.path op value` */
  filter?: string
  /** events per page (default 100; 0 for all) */
  take?: number
  offset?: number
  /** events shown around each match */
  context?: number
  /** with --checkpoint: its message history */
  messages?: boolean
  /** counts instead of the events */
  summary?: boolean
  /** one JSON document */
  json?: boolean
  /** with --json: indented */
  pretty?: boolean
  /** full event bodies, streaming deltas one by one */
  verbose?: boolean
  /** only the delegation tree */
  tree?: boolean
  /** the whole job as one self-contained HTML page, written to this file (`-`: stdout) */
  html?: string
  /** the workspace whose `perstack/` store is read (default: the working directory) */
  workspace?: string
}
