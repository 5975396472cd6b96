"""The monthly run, one use case per module.

Run records (DESIGN 3): a small summary `billingRuns/{YYYY-MM}` and one document per company
`billingRuns/{YYYY-MM}/companies/{companyId}`; counts come from per-state counter shards moved with
each record's state change (aggregation queries for runs created before the counters).

A firing without month/year bills the latest month that has ended anywhere on Earth (UTC+14):
every company whose own month has ended is published, the others wait for a later firing
(the Scheduler fires hourly over the first two days of each month).

Numbering in batches: workers rate each company's month into a draft invoice (in parallel) and
wake the sequencer; the sequencer (one instance) numbers the waiting drafts in batches of up to
`numbering_batch` per counter transaction, in draft order, and hands each numbered invoice back to
the workers to finish (PDF, CSV, email). No invoice of a run takes its own counter transaction.

  - `fanout`: the manual trigger and the resumable Pub/Sub fan-out (one message per due company);
  - `worker`: one company's steps (draft, finish) and its run record;
  - `sequencer`: numbering waiting drafts in batches and handing them back;
  - `in_process`: the droplet's run (CLI, POST /billing/run) in a thread pool;
  - `status`: the run's counts and failures (GET /billing/runs/{period});
  - `messages`: the Pub/Sub payloads; `common`: run states and what the use cases share.
"""
