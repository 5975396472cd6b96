"""`billing` console script: generate, run, send, seed-demo (same services and environment as the functions)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from billing.domain.period import MonthQuery, period_key
from billing.errors import BillingError
from billing.domain.lifecycle import InvoiceStatus

if TYPE_CHECKING:
    from billing.bootstrap import Container


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="billing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="issue one company's invoice (idempotent)")
    gen.add_argument("company")
    gen.add_argument("--month", type=int)
    gen.add_argument("--year", type=int)

    run = sub.add_parser("run", help="bill every active company in-process (the droplet's cron)")
    run.add_argument("--month", type=int)
    run.add_argument("--year", type=int)
    run.add_argument("--concurrency", type=int, default=None, help="parallel companies (default 8)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    status = sub.add_parser("run-status", help="a run's counts and failed companies with their errorType "
                                               "(Configuration: fix the project's setup, then run again)")
    status.add_argument("--month", type=int, required=True)
    status.add_argument("--year", type=int, required=True)

    send = sub.add_parser("send", help="email an issued invoice (again, on purpose)")
    send.add_argument("company")
    send.add_argument("period", help="YYYY-MM")

    seed = sub.add_parser("seed-demo", help="write the demo supplier, companies and call logs (only to an "
                                            "emulator, unless --force --project names the project)")
    seed.add_argument("--force", action="store_true", help="seed a real project (overwrites its settings/billing)")
    seed.add_argument("--project", help="with --force: the project to seed, as GOOGLE_CLOUD_PROJECT names it")

    rec = sub.add_parser("reconcile", help="compare a month's calls now with what its invoices billed; "
                                           "exit 1 when any company drifted (for a cron alert)")
    rec.add_argument("company", nargs="?", help="one company (default: every active company with an invoice)")
    rec.add_argument("--month", type=int, required=True)
    rec.add_argument("--year", type=int, required=True)

    gstr1 = sub.add_parser("gstr1", help="the month's GSTR-1 JSON (GST portal offline-tool layout)")
    gstr1.add_argument("--month", type=int, required=True)
    gstr1.add_argument("--year", type=int, required=True)
    gstr1.add_argument("--out", help="write to this file instead of standard output")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from billing.bootstrap import Container
    from billing.logs import setup_logging

    setup_logging()
    container = Container()
    try:
        if args.command == "generate":
            doc = container.issuance.generate(args.company, MonthQuery(args.month, args.year))
            print(json.dumps(doc, indent=2, default=str, ensure_ascii=False))
            return 0
        if args.command == "run":
            return _run(container, args)
        if args.command == "run-status":
            report = container.run_status.status(period_key(args.year, args.month), page_size="500")
            print(json.dumps(report, indent=2, default=str))
            return 1 if report["counts"].get("failed") else 0
        if args.command == "send":
            print(json.dumps(container.delivery.send(args.company, args.period, force=True), indent=2))
            return 0
        if args.command == "reconcile":
            return _reconcile(container, args)
        if args.command == "gstr1":
            return _gstr1(container, args)
        if args.command == "seed-demo":
            return _seed_demo(container, args)
    except BillingError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    return 1


def _gstr1(container: Container, args: argparse.Namespace) -> int:
    text = json.dumps(container.gst_returns.gstr1(period_key(args.year, args.month)), indent=2, ensure_ascii=False)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    else:
        print(text)
    return 0


def _seed_demo(container: Container, args: argparse.Namespace) -> int:
    from billing.seed import seed_demo, seed_refusal

    refusal = seed_refusal(os.environ, args.force, args.project, container.settings.project)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    print(json.dumps(seed_demo(container.firestore, container.settings), indent=2))
    return 0


def _run(container: Container, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    bar = tqdm(unit="company", disable=args.no_progress, file=sys.stderr)

    def progress(result: dict[str, Any]) -> None:
        bar.update(1)
        bar.set_postfix_str(f"{result['companyId']}: {result['state']}")

    outcome = container.in_process_runs.run_in_process(MonthQuery(args.month, args.year), args.concurrency, progress)
    bar.close()
    earlier = f" ({len(outcome.earlier)} in an earlier run)" if outcome.earlier else ""
    print(f"billing run {outcome.period}: {len(outcome.done)} invoiced{earlier}, {len(outcome.failed)} failed, "
          f"{len(outcome.waiting)} waiting, {len(outcome.skipped)} skipped")
    for cid, number in sorted(outcome.done.items()):
        print(f"  done    {cid}: {number}")
    for cid, reason in sorted(outcome.waiting.items()):
        print(f"  waiting {cid}: {reason} (run again once it has)")
    for cid, reason in sorted(outcome.skipped.items()):
        print(f"  skipped {cid}: {reason}")
    for cid, reason in sorted(outcome.failed.items()):
        print(f"  FAILED  {cid}: {reason}")
    return 0 if outcome.ok else 1


def _reconcile(container: Container, args: argparse.Namespace) -> int:
    """One line per company whose month's calls differ from its current invoice; 1 when any did."""
    from billing.domain.period import BillingPeriod
    from billing.errors import NotFoundError

    period = BillingPeriod(args.year, args.month).key
    companies = [args.company] if args.company else [cid for cid, _ in container.companies.list_active()]
    drifted = checked = 0
    for company in companies:
        try:
            invoice = container.queries.get(company, period)
        except NotFoundError:
            if args.company:
                raise
            continue
        if InvoiceStatus.of(invoice) is not InvoiceStatus.ISSUED:
            if args.company:
                print(f"{company} {period}: invoice {invoice.get('invoiceNumber')} is {invoice.get('status')}, "
                      "not reconciled", file=sys.stderr)
            continue
        result = container.reconcile.reconcile_invoice(invoice)
        checked += 1
        if result["drifted"]:
            drifted += 1
            d = result["difference"]
            print(f"DRIFT {company} {period} {result['invoiceNumber']}: {result['added']} added, "
                  f"{result['removed']} removed, {result['changed']} changed; difference {d['calls']:+d} calls, "
                  f"{d['billedMinutes']:+} billed minutes, {d['callCharges']:+.2f} call charges")
    print(f"reconciled {checked} issued invoice(s) of {period}: {drifted} drifted", file=sys.stderr)
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main())
