"""`billing`: issue, preview, list and correct invoices, run a month, record payments and TDS, ageing,
reminders and exports, manage companies and the supplier (the same services and environment as the HTTP
and event functions)."""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable

from billing.domain.period import MonthQuery, period_key
from billing.domain.naming import validate_company_id
from billing.errors import BillingError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from billing.bootstrap import Container
    from billing.services.runs.worker import Result


MONTH_DEFAULT = ("default (with --year): the last month that has ended in the company's billing timezone "
                 "(in January: December of the previous year)")
RUN_MONTH_DEFAULT = ("default (with --year): the latest month that has ended anywhere (UTC+14); each company is "
                     "billed once its month has ended in its own timezone")
SET_HELP = ("KEY=VALUE, repeatable: set one field (dotted keys reach into maps: billing.ratePerMinute=2). "
            "VALUE is read as JSON when it is JSON (2, true, null, \"29\", {...}) and as text otherwise, "
            "so a number or boolean is typed as such and a numeric text needs JSON quotes: 'stateCode=\"29\"'")


def _month_args(parser: argparse.ArgumentParser, default: str, required: bool = False) -> None:
    parser.add_argument("--month", type=int, required=required, help="1-12; " + ("" if required else default))
    parser.add_argument("--year", type=int, required=required, help="e.g. 2025" + ("" if required else
                                                                                  "; give it with --month"))


def _set_args(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--file", help=f"a JSON file with the whole {what} document ('-': standard input); "
                                       "it replaces the stored document")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="fields", help=SET_HELP)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="billing", description=__doc__,
        epilog="Results are JSON (or a report) on standard output; log lines (JSON) and errors go to standard "
               "error. Exit status: 0 done, 1 something failed or drifted, 2 refused (the error says why).")
    sub = parser.add_subparsers(dest="command", required=True)
    # One call per command group: a new group adds its `_add_<group>_parsers(sub)` and one line here.
    _add_invoice_parsers(sub)
    _add_run_parsers(sub)
    _add_delivery_parsers(sub)
    _add_correction_parsers(sub)
    _add_company_parsers(sub)
    _add_settings_parsers(sub)
    _add_reconcile_parsers(sub)
    _add_note_parsers(sub)
    _add_charge_parsers(sub)
    _add_gst_parsers(sub)
    _add_receivables_parsers(sub)
    _add_receivables_rebuild_parsers(sub)
    return parser


Handler = Callable[["Container", argparse.Namespace], int]


def _command(sub: Any, name: str, handler: Handler, **kwargs: Any) -> argparse.ArgumentParser:
    """One command whose handler `_dispatch` calls (aliases included)."""
    parser: argparse.ArgumentParser = sub.add_parser(name, **kwargs)
    parser.set_defaults(handler=handler)
    return parser


def _add_invoice_parsers(sub: Any) -> None:
    gen = _command(sub, "generate", _generate, help="issue one company's invoice (idempotent)")
    gen.add_argument("company")
    _month_args(gen, MONTH_DEFAULT)

    prev = _command(sub, "preview", _preview, help="what a company's invoice would be now, writing nothing (the "
                                                   "current month: month to date)")
    prev.add_argument("company")
    _month_args(prev, "default (with --year): the current month in the company's billing timezone, to date")

    lst = _command(sub, "list", _list, help="a company's invoices, newest month first (summaries)")
    lst.add_argument("company")
    lst.add_argument("--year", type=int, help="only this calendar year's months (default: every year)")

    show = _command(sub, "show", _show, help="a month's current invoice, with the month's history")
    show.add_argument("company")
    show.add_argument("period", help="YYYY-MM")


def _add_delivery_parsers(sub: Any) -> None:
    send = _command(sub, "send", _send, help="email an issued invoice (again, on purpose)")
    send.add_argument("company")
    send.add_argument("period", help="YYYY-MM")


def _add_run_parsers(sub: Any) -> None:
    run = _command(sub, "run", _run, help="bill every active company in-process (the droplet's cron)")
    _month_args(run, RUN_MONTH_DEFAULT)
    run.add_argument("--concurrency", type=int, default=None,
                     help="parallel companies (default: BILLING_RUN_CONCURRENCY, 8)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    status = _command(sub, "runs", _run_status, aliases=["run-status"],
                      help="a run's counts, failed companies with their errorType (Configuration: fix the "
                           "project's setup, then run again) and skipped ones with the reason")
    _month_args(status, "", required=True)


def _add_correction_parsers(sub: Any) -> None:
    void = _command(sub, "void", _void, help="void an issued invoice with a credit note (GST section 34), and "
                                             "optionally issue its reissue from the data as it is now")
    void.add_argument("company")
    void.add_argument("period", help="YYYY-MM")
    void.add_argument("--invoice-number", required=True, help="the invoice's number, e.g. VX/26-27/00001 "
                                                              "(a check that the right invoice is voided)")
    void.add_argument("--reason", required=True, help="printed on the credit note")
    void.add_argument("--reissue", action="store_true", help="issue the month again after the void "
                                                             "(default: no reissue)")

    cn = _command(sub, "credit-notes", _credit_notes, help="a company's credit notes")
    cn_sub = cn.add_subparsers(dest="action", required=True)
    cn_list = cn_sub.add_parser("list", help="every credit note of the company, oldest first")
    cn_list.add_argument("company")
    cn_show = cn_sub.add_parser("show", help="one credit note")
    cn_show.add_argument("company")
    cn_show.add_argument("credit_note_id", help="e.g. vysedeck_2025-09_cn")


def _add_company_parsers(sub: Any) -> None:
    companies = _command(sub, "companies", _companies, help="the customers (companies/{id}): list, show, set, copy")
    co_sub = companies.add_subparsers(dest="action", required=True)
    co_list = co_sub.add_parser("list", help="every company, with what keeps it from being billed (problems)")
    co_list.add_argument("--page-size", type=int, default=500, help="companies read per request (default 500)")
    co_show = co_sub.add_parser("show", help="one company's document")
    co_show.add_argument("company")
    co_set = co_sub.add_parser("set", help="create or replace a company (checked first; nothing is written "
                                           "when a check fails)")
    co_set.add_argument("company", help="its id: 1-64 characters of a-z, 0-9, '_' or '-'")
    _set_args(co_set, "company")
    co_copy = co_sub.add_parser("copy", help="copy a company stored under an id that is not a valid company id "
                                             "(e.g. one Firestore generated) to a valid one")
    co_copy.add_argument("source", help="the document id it has now")
    co_copy.add_argument("company", help="the new id: 1-64 characters of a-z, 0-9, '_' or '-'")


def _add_settings_parsers(sub: Any) -> None:
    st = _command(sub, "settings", _settings, help="the supplier (settings/billing): show, set")
    st_sub = st.add_subparsers(dest="action", required=True)
    st_sub.add_parser("show", help="the supplier settings")
    st_set = st_sub.add_parser("set", help="create or replace the supplier settings (checked first)")
    _set_args(st_set, "supplier settings")

    seed = _command(sub, "seed-demo", _seed_demo, help="write the demo supplier, companies and call logs (only to "
                                                       "an emulator, unless --force --project names the project)")
    seed.add_argument("--force", action="store_true", help="seed a real project (overwrites its settings/billing)")
    seed.add_argument("--project", help="with --force: the project to seed, as GOOGLE_CLOUD_PROJECT names it")


def _add_reconcile_parsers(sub: Any) -> None:
    rec = _command(sub, "reconcile", _reconcile, help="compare a month's calls now with what its invoices billed; "
                                                      "exit 1 when any company drifted (for a cron alert)")
    rec.add_argument("company", nargs="?", help="one company (default: every active company with an invoice)")
    _month_args(rec, "", required=True)
    rec.add_argument("--settle", action="store_true",
                     help="issue a debit or credit note for each drifted company's call-charge difference")


def _add_note_parsers(sub: Any) -> None:
    for kind in ("credit", "debit"):
        note = _command(sub, f"{kind}-note", _note, help=f"{kind} notes on an issued invoice (create, list, show, send)")
        actions = note.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help=f"issue a {'partial credit' if kind == 'credit' else 'debit'} "
                                                   "note by minutes (at the invoice's rate) or by lines")
        create.add_argument("company")
        create.add_argument("period", help="YYYY-MM")
        create.add_argument("--invoice-number", required=True)
        create.add_argument("--reason", required=True)
        how = create.add_mutually_exclusive_group(required=True)
        how.add_argument("--minutes", type=str, help="minutes at the invoice's rate")
        how.add_argument("--line", action="append", metavar="DESCRIPTION=TAXABLE",
                         help="a line and its taxable value (repeatable)")
        create.add_argument("--key", help="Idempotency-Key: the same key returns the same note")
        listing = actions.add_parser("list", help="the company's notes")
        listing.add_argument("company")
        show = actions.add_parser("show", help="one note")
        show.add_argument("company")
        show.add_argument("id")
        send = actions.add_parser("send", help="email the issued note with its PDF (again, on purpose)")
        send.add_argument("company")
        send.add_argument("id")
        send.add_argument("--to", action="append", metavar="ADDRESS",
                          help="instead of the company's billing email (repeatable)")


def _add_charge_parsers(sub: Any) -> None:
    charges = _command(sub, "charges", _charges, help="one-off charges on a month's invoice (add, list)")
    ch_sub = charges.add_subparsers(dest="action", required=True)
    ch_add = ch_sub.add_parser("add", help="add a one-off charge (a line before GST) to a month not yet invoiced")
    ch_add.add_argument("company")
    ch_add.add_argument("period", help="YYYY-MM")
    ch_add.add_argument("--description", required=True, help="the invoice line's text (1-200 characters)")
    ch_add.add_argument("--amount", required=True, help="rupees before GST, at most two decimals")
    ch_add.add_argument("--key", help="Idempotency-Key: the same key returns the same charge")
    ch_list = ch_sub.add_parser("list", help="a month's charges")
    ch_list.add_argument("company")
    ch_list.add_argument("period", help="YYYY-MM")


def _add_gst_parsers(sub: Any) -> None:
    gstr1 = _command(sub, "gstr1", _gstr1, help="the month's GSTR-1 JSON (GST portal offline-tool layout)")
    _month_args(gstr1, "", required=True)
    gstr1.add_argument("--out", help="write to this file instead of standard output")


def _add_receivables_parsers(sub: Any) -> None:
    tds = _command(sub, "tds", _tds, help="TDS receivable of a quarter (to match with Form 26AS)")
    tds_sub = tds.add_subparsers(dest="tds_command", required=True)
    tds_list = tds_sub.add_parser("list", help="the quarter's TDS per company and what is still unmatched")
    tds_list.add_argument("--fy", required=True, help="financial year, e.g. 2025-26")
    tds_list.add_argument("--quarter", required=True, help="1-4 (Q1 April-June ... Q4 January-March)")
    tds_list.add_argument("--company", help="one company")
    tds_match = tds_sub.add_parser("match", help="mark a payment's TDS as found in Form 26AS")
    tds_match.add_argument("company")
    tds_match.add_argument("reference", help="the payment's reference (UTR, cheque number)")
    tds_match.add_argument("--note", default="", help="e.g. the 26AS entry")

    export = _command(sub, "export", _export, help="exports for accounting software")
    export_sub = export.add_subparsers(dest="export_command", required=True)
    tally = export_sub.add_parser("tally", help="a month as Tally Prime import XML (Gateway > Import > Transactions)")
    tally.add_argument("--month", type=int, required=True)
    tally.add_argument("--year", type=int, required=True)
    tally.add_argument("--out", help="write to this file instead of standard output")

    _command(sub, "remind", _remind,
             help="email today's payment reminders (daily cron; each step at most once per invoice)")

    aging = _command(sub, "aging", _aging, help="receivables ageing: totals and every company with a balance")
    aging.add_argument("--as-of", help="YYYY-MM-DD (default today)")


def _add_receivables_rebuild_parsers(sub: Any) -> None:
    rec = _command(sub, "receivables", _rebuild_receivables, help="maintenance of the receivables' aggregates")
    rec_sub = rec.add_subparsers(dest="receivables_command", required=True)
    rebuild = rec_sub.add_parser(
        "rebuild", help="recompute a month's totals (the console's overview) from its receivables and fill a "
                        "missing invoice status (the console's filter): after deploying over older data; idempotent")
    rebuild.add_argument("--month", required=True, metavar="YYYY-MM", help="the billing month")


def _print(result: Any) -> None:
    print(json.dumps(result, indent=2, default=str, ensure_ascii=False))


def _document(args: argparse.Namespace, current: dict[str, Any] | None) -> dict[str, Any]:
    """The document `set` writes: --file (whole), else the stored one, with each --set applied."""
    if args.file:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{args.file}: not JSON ({exc})") from None
    elif args.fields:
        doc = copy.deepcopy(current or {})
    else:
        raise ValidationError("give --file (the whole document) or --set KEY=VALUE options")
    if not isinstance(doc, dict):
        raise ValidationError(f"{args.file}: the document must be a JSON object")
    for item in args.fields:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"--set wants KEY=VALUE, got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw  # plain text
        target = doc
        *path, last = key.split(".")
        for part in path:
            nested = target.get(part)
            if not isinstance(nested, dict):
                nested = target[part] = {}
            target = nested
        target[last] = value
    return doc


def _stored(show: Callable[[], dict[str, Any]], field: str) -> dict[str, Any] | None:
    try:
        return dict(show()[field])
    except NotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from billing.bootstrap import Container
    from billing.services.runs.worker import Result
    from billing.logs import setup_logging

    setup_logging(stream=sys.stderr)
    container = Container()
    try:
        return _dispatch(container, args)
    except BillingError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2


def _dispatch(container: Container, args: argparse.Namespace) -> int:
    handler: Handler = args.handler
    return handler(container, args)


def _generate(container: Container, args: argparse.Namespace) -> int:
    _print(dict(container.issuance.generate(args.company, MonthQuery(args.month, args.year)).document))
    return 0


def _preview(container: Container, args: argparse.Namespace) -> int:
    _print(container.preview.preview(args.company, MonthQuery(args.month, args.year)))
    return 0


def _list(container: Container, args: argparse.Namespace) -> int:
    from billing.entrypoints.http.presenters import summary

    invoices = container.queries.for_company(args.company, str(args.year) if args.year is not None else None)
    _print({"companyId": args.company, "invoices": [summary(i) for i in invoices]})
    return 0


def _show(container: Container, args: argparse.Namespace) -> int:
    current, history = container.queries.current_and_history(args.company, args.period)
    _print({**current.document, "history": [i.document for i in history]})
    return 0


def _send(container: Container, args: argparse.Namespace) -> int:
    _print(container.delivery.send(args.company, args.period, force=True))
    return 0


def _run_status(container: Container, args: argparse.Namespace) -> int:
    report = container.run_status.status(period_key(args.year, args.month), page_size="500")
    _print(report)
    return 1 if report["counts"].get("failed") else 0


def _void(container: Container, args: argparse.Namespace) -> int:
    _print(container.corrections.void(args.company, args.period, {
        "invoiceNumber": args.invoice_number, "reason": args.reason, "reissue": args.reissue}).to_json())
    return 0


def _credit_notes(container: Container, args: argparse.Namespace) -> int:
    if args.action == "list":
        _print({"companyId": args.company, "creditNotes": container.corrections.list(args.company)})
    else:
        _print(container.corrections.get(args.company, args.credit_note_id))
    return 0


def _settings(container: Container, args: argparse.Namespace) -> int:
    admin = container.company_admin
    if args.action == "show":
        _print(admin.supplier())
    else:
        _print(admin.put_supplier(_document(args, _stored(admin.supplier, "settings"))))
    return 0


def _export(container: Container, args: argparse.Namespace) -> int:
    xml = container.receivables.tally(str(args.month), str(args.year))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(xml)
    else:
        sys.stdout.write(xml)
    return 0


def _remind(container: Container, args: argparse.Namespace) -> int:
    report = container.reminders.run()
    _print(report)
    return 1 if report["failed"] else 0


def _companies(container: Container, args: argparse.Namespace) -> int:
    admin = container.company_admin
    if args.action == "list":
        entries, token = [], None
        while True:
            page = admin.list(args.page_size, token)
            entries += page["companies"]
            token = page["nextPageToken"]
            if not token:
                break
        _print({"companies": entries})
        for entry in entries:
            for problem in entry["problems"]:
                print(f"{entry['companyId']}: {problem}", file=sys.stderr)
        return 1 if any(entry["problems"] for entry in entries) else 0
    if args.action == "show":
        _print(admin.get(args.company))
    elif args.action == "set":
        validate_company_id(args.company)
        _print(admin.put(args.company, _document(args, _stored(lambda: admin.get(args.company), "company"))))
    elif args.action == "copy":
        _print(admin.copy(args.source, args.company))
        print(f"copied companies/{args.source} to companies/{args.company}. Next: set companyId to "
              f"'{args.company}' on its call logs (docs/data-model.md, Company ids), then set active: false on "
              f"companies/{args.source} or delete it (Firestore console), so the run no longer lists it",
              file=sys.stderr)
    return 0


def _note(container: Container, args: argparse.Namespace) -> int:
    """credit-note / debit-note create, list, show, send: the JSON the API returns, without links."""
    from decimal import Decimal

    kind = args.command.split("-")[0]
    if args.action == "list":
        notes: Any = (container.corrections.list(args.company) if kind == "credit"
                      else container.adjustments.list(kind, args.company))
    elif args.action == "show":
        notes = (container.corrections.get(args.company, args.id) if kind == "credit"
                 else container.adjustments.get(kind, args.company, args.id))
    elif args.action == "send":
        send = container.delivery.send_credit_note if kind == "credit" else container.delivery.send_debit_note
        notes = send(args.company, args.id, body={"to": args.to} if args.to else None)
    else:
        body: dict[str, Any] = {"invoiceNumber": args.invoice_number, "reason": args.reason}
        if args.minutes is not None:
            body["minutes"] = float(Decimal(args.minutes))  # a JSON number, as the API receives it
        else:
            lines = [line.rsplit("=", 1) for line in args.line]
            if any(len(parts) != 2 for parts in lines):
                print("error: --line takes DESCRIPTION=TAXABLE", file=sys.stderr)
                return 2
            body["lines"] = [{"description": d, "taxableValue": float(Decimal(v))} for d, v in lines]
        notes = container.adjustments.create(kind, args.company, args.period, body, args.key)
    print(json.dumps(notes, indent=2, default=str, ensure_ascii=False))
    return 0


def _charges(container: Container, args: argparse.Namespace) -> int:
    """charges add / list: the JSON the API returns."""
    from decimal import Decimal, InvalidOperation

    if args.action == "list":
        _print(container.charges.month(args.company, args.period))
        return 0
    try:
        amount = float(Decimal(args.amount))  # a JSON number, as the API receives it
    except InvalidOperation:
        print(f"error: --amount must be a number of rupees, got {args.amount!r}", file=sys.stderr)
        return 2
    charge, _ = container.charges.add(args.company, {"period": args.period, "description": args.description,
                                                      "amount": amount}, args.key)
    _print(charge)
    return 0


def _gstr1(container: Container, args: argparse.Namespace) -> int:
    text = json.dumps(container.gst_returns.gstr1(period_key(args.year, args.month)).to_json(), indent=2,
                      ensure_ascii=False)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    else:
        print(text)
    return 0


def _tds(container: Container, args: argparse.Namespace) -> int:
    if args.tds_command == "match":
        payment = container.receivables.mark_tds_matched(args.company, args.reference, args.note)
        print(f"matched: {payment.company_id} {payment.reference} TDS {payment.tds.decimal:.2f} "
              f"({payment.tds_section}, {payment.tds_key})")
        return 0
    print(json.dumps(container.receivables.tds(args.fy, args.quarter, args.company), indent=2))
    return 0


def _rebuild_receivables(container: Container, args: argparse.Namespace) -> int:
    """`receivables rebuild`: a month's totals and invoice statuses recomputed from its receivables."""
    report = container.receivables.rebuild_month(args.month)
    _print(report)
    return 1 if report["statusUnknown"] else 0


def _aging(container: Container, args: argparse.Namespace) -> int:
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = container.receivables.aging(args.as_of, "500", token)
        pages.append(page)
        token = page["nextPageToken"]
        if not token:
            break
    report = {**pages[0], "companies": [c for p in pages for c in p["companies"]], "nextPageToken": None}
    print(json.dumps(report, indent=2))
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

    def progress(result: Result) -> None:
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
    """One line per company whose month's calls differ from its current invoice, or that failed
    (the others are still reconciled); 1 when any drifted or failed."""
    from billing.domain.period import BillingPeriod
    from billing.errors import NotFoundError

    period = BillingPeriod(args.year, args.month).key
    companies = [args.company] if args.company else [cid for cid, _ in container.companies.list_active()]
    drifted = checked = failed = 0
    for item in container.reconcile.reconcile_many(companies, period):
        if item.outcome == "missing" and args.company:
            raise NotFoundError(item.detail)
        if item.outcome in ("missing", "skipped"):
            if args.company:  # the one company asked for: say why nothing was compared
                print(f"{item.company_id} {period}: {item.detail}", file=sys.stderr)
            continue
        if item.outcome == "failed":
            failed += 1
            print(f"FAILED {item.company_id} {period}: {item.detail}")
            continue
        checked += 1
        result = item.result.to_json() if item.result is not None else {}
        if item.outcome == "drifted" and args.settle:
            try:
                settled = container.settlement.settle(item.company_id, period,
                                                      {"invoiceNumber": result["invoiceNumber"]})
                print(f"SETTLED {item.company_id} {period} {result['invoiceNumber']}: {settled['detail']}")
            except BillingError as exc:  # the others are still settled
                failed += 1
                print(f"FAILED {item.company_id} {period}: settle: {exc.detail}")
        if item.outcome == "drifted":
            drifted += 1
            d = result["difference"]
            print(f"DRIFT {item.company_id} {period} {result['invoiceNumber']}: {result['added']} added, "
                  f"{result['removed']} removed, {result['changed']} changed; difference {d['calls']:+d} calls, "
                  f"{d['billedMinutes']:+} billed minutes, {d['callCharges']:+.2f} call charges")
    print(f"reconciled {checked} issued invoice(s) of {period}: {drifted} drifted, {failed} failed"
          + (" (drifted ones settled)" if args.settle and drifted else ""), file=sys.stderr)
    return 1 if failed or (drifted and not args.settle) else 0


if __name__ == "__main__":
    sys.exit(main())
