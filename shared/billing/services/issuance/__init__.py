"""Issue a company's invoice for a month, exactly once; one module per step.

The steps, each safe to repeat after a crash:
  1. validate everything (nothing is written on bad input): `inputs`;
  2. an existing invoice is taken up where it stands (issued: returned as it is): `issue`;
  3. draft: close the month for one-off charges and read them (services.charges: a charge racing
     this lands on the invoice or is refused), stream the month's calls once, in one or more time
     slices, rate them, write the CSV
     to a unique staging object (`rating`), and create the invoice document create-only as a
     "draft" (every amount, no number); if another request created it first, that one is used;
  4. number: a transaction on the financial year's counter gives drafts their numbers and
     invoice date (one draft on demand; a batch of hundreds in the monthly run's sequencer): `numbering`;
  5. finish from the document alone: promote the staged CSV, render and upload the PDF
     (create-only, deterministic bytes), mark the invoice "issued": `finish` (shared with credit notes).
A retry that finds a "draft" resumes at step 4, an "issuing" one at step 5. `preview` rates a
month exactly like step 3 and writes nothing.

A company-month can hold several invoices: the first (`{c}_{YYYY-MM}`) and, after voids, reissues
(`..._r1`, `..._r2`, ...), each with its own files. Only the last can be anything but "void" (a
reissue is drafted only once every earlier one is void), so the month's invoices are found by
walking the ids from the first (services.queries); the common case is one read.
"""
