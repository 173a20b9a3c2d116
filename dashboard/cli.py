"""Command line: ``python -m dashboard validate|load|export|generate|report|users|audit``.

Exit codes (a public interface, scripted against by the board's statisticians):
0 success / extract clean; 1 rows were quarantined (the load still completed);
2 unusable input or bad arguments (one line on stderr, no traceback).
``audit verify``: 0 the chain is intact, 1 an entry was edited, removed or reordered (the first
bad line is named), 2 the file is unusable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
from pathlib import Path

EXIT_OK, EXIT_QUARANTINED, EXIT_UNUSABLE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line with exit code 2."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.exit(EXIT_UNUSABLE, f"{self.prog}: error: {message}\n")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; expected YYYY-MM-DD") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"{value} subjects is too few; expected at least 2")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m dashboard", description="DSMB safety-review dashboard tools.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="check an extract against the contracts; exit 0 clean, 1 quarantined, 2 unusable")
    p.add_argument("extract", type=Path, help="extract folder or .zip")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--role", choices=["blinded", "unblinded"], default="blinded",
                   help="blinded (default) never reads or reports treatment columns")

    p = sub.add_parser("load", help="load an extract into a DuckDB file")
    p.add_argument("extract", type=Path)
    p.add_argument("--db", type=Path, required=True, help="DuckDB file to (re)create")
    p.add_argument("--role", choices=["blinded", "unblinded"], required=True)

    p = sub.add_parser("export", help="write every registered table as CSV")
    p.add_argument("extract", type=Path)
    p.add_argument("--role", choices=["blinded", "unblinded"], required=True)
    p.add_argument("--out", type=Path, required=True, help="folder for the CSV files")

    p = sub.add_parser("report", help="write the meeting packet (PDF or HTML) for a review meeting: the open "
                       "report (pooled) for --role blinded, the closed report (by arm) for --role unblinded")
    p.add_argument("extract", type=Path)
    p.add_argument("--role", choices=["blinded", "unblinded"], required=True)
    p.add_argument("--out", type=Path, required=True, help="packet file: .pdf (typeset) or .html")
    p.add_argument("--data-cut", type=_date, default=None,
                   help="report as of this date (YYYY-MM-DD, on or before the extract's cut); default the extract's cut")

    p = sub.add_parser("generate", help="write a seeded synthetic extract modelled on NCT04562025")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--subjects", type=_positive_int, default=38)
    p.add_argument("--blinded", action="store_true", help="omit treatment and dose variables")
    p.add_argument("--data-cut", type=_date, default=None, help="cut the data at this date (YYYY-MM-DD)")
    p.add_argument("--with-problems", action="store_true", help="plant data problems (listed in problems.json)")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("--years", type=_positive_int, default=None,
                   help="outcome-trial scale: years of follow-up of a completer (1-5; quarterly visits)")
    p.add_argument("--lab-params", type=_positive_int, default=None,
                   help="outcome-trial scale: ADLB parameters (17-40)")
    p.add_argument("--previous-cut", type=_date, default=None,
                   help="write two cuts of the same trial: OUT/previous (cut at this date) and OUT/current "
                   "(naming ../previous), with planted late entries, edits and a deletion (planted_changes.json)")

    from dashboard.auth import ROLES

    users = sub.add_parser("users", help="local accounts (argon2id hashes) in DSMB_ACCOUNTS or --accounts")
    usub = users.add_subparsers(dest="users_command", required=True, parser_class=_Parser)
    accounts_help = "accounts file (default: the DSMB_ACCOUNTS environment variable)"
    p = usub.add_parser("add", help="add a user (password from standard input, or prompted at a terminal)")
    p.add_argument("name")
    p.add_argument("--role", action="append", required=True, choices=list(ROLES),
                   help="product role; repeat for several (e.g. --role admin --role dsmb_open)")
    p.add_argument("--accounts", type=Path, help=accounts_help)
    p = usub.add_parser("list", help="list users and their roles (never the hashes)")
    p.add_argument("--accounts", type=Path, help=accounts_help)
    p = usub.add_parser("disable", help="disable a user: they can no longer sign in")
    p.add_argument("name")
    p.add_argument("--accounts", type=Path, help=accounts_help)

    audit = sub.add_parser("audit", help="the audit trail (DSMB_AUDIT or --audit)")
    asub = audit.add_subparsers(dest="audit_command", required=True, parser_class=_Parser)
    p = asub.add_parser("verify", help="check the hash chain: exit 0 intact, 1 broken (first bad line named), "
                                       "2 unusable")
    p.add_argument("--audit", type=Path, help="audit log (default: the DSMB_AUDIT environment variable)")
    return parser


def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE") and argv is None:
        # `validate --json | head` ends quietly, as Unix tools do, instead of reporting an error.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    import duckdb

    from dashboard.extract import ExtractError

    try:
        return _COMMANDS[args.command](args)
    except ExtractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except duckdb.IOException as exc:  # e.g. --db in a folder that does not exist
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_UNUSABLE


def _validate(args) -> int:
    from dashboard.extract import ExtractError
    from dashboard.load import load_extract

    try:
        con, report = load_extract(args.extract, args.role, require_arm=False)
    except ExtractError as exc:
        if args.json:
            print(json.dumps({"status": "unusable", "error": str(exc), "domains": {}, "findings": []}, indent=2))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    derivations = con.sql("SELECT * FROM derivations").to_arrow_table().to_pandas()
    con.close()
    findings = report.findings
    if args.json:
        out = {
            "status": report.status,
            "extract": str(args.extract),
            "role": report.role.value,
            "data_cut": report.study["data_cut"],
            "domains": {k: v.__dict__ for k, v in report.domains.items()},
            "findings": [
                {k: (None if v is None or v != v or v == "None" else (int(v) if k == "row" else v))
                 for k, v in r.items()}
                for r in findings.astype(object).to_dict("records")
            ],
            "derivations": derivations.to_dict("records"),
        }
        print(json.dumps(out, indent=2, default=str))
    else:
        print(f"{args.extract}: {report.status} (role {report.role.value}, data cut {report.study['data_cut']})")
        print(f"{'domain':8} {'read':>9} {'accepted':>9} {'quarantined':>12}")
        for name, c in report.domains.items():
            print(f"{name:8} {c.rows_read:>9} {c.rows_accepted:>9} {c.rows_quarantined:>12}")
        limit = 50
        for msg, action in list(zip(findings["message"], findings["action"]))[:limit]:
            print(f"[{action}] {msg}")
        if len(findings) > limit:
            print(f"... and {len(findings) - limit} more findings (use --json for all).")
        for msg, status in zip(derivations["message"], derivations["status"]):
            print(f"[{status}] {msg}")
    return report.exit_code


def _load(args) -> int:
    from dashboard.load import load_extract

    con, report = load_extract(args.extract, args.role, db_path=args.db)
    con.close()
    print(f"loaded {args.extract} into {args.db} (role {report.role.value}): " + ", ".join(
        f"{k} {v.rows_accepted}/{v.rows_read}" for k, v in report.domains.items()))
    if report.rows_quarantined:
        print(f"{report.rows_quarantined} rows quarantined; see the quarantine table or run validate.")
    return report.exit_code


def _generate(args) -> int:
    from dashboard.generate import generate_extract, generate_two_cuts

    if args.years is not None or args.lab_params is not None:
        from dashboard.generate import generate_outcome_extract

        if args.blinded or args.data_cut or args.with_problems or args.previous_cut:
            raise ValueError("--years/--lab-params (outcome-trial scale) cannot be combined with --blinded, "
                             "--data-cut, --with-problems or --previous-cut.")
        report = generate_outcome_extract(args.out, seed=args.seed, subjects=args.subjects, years=args.years or 3,
                                          lab_params=args.lab_params or 40, formats=(args.format,))[args.format]
        print(f"wrote {len(report.files)} files to {args.out}: " + ", ".join(f"{k} {v}" for k, v in report.rows.items()))
        return EXIT_OK
    if args.previous_cut is not None:
        if args.with_problems:
            raise ValueError("--previous-cut and --with-problems cannot be combined; give one of them.")
        prev, cur, changes = generate_two_cuts(args.out, seed=args.seed, previous_cut=args.previous_cut,
                                               subjects=args.subjects, blinded=args.blinded, data_cut=args.data_cut,
                                               file_format=args.format)
        for report in (prev, cur):
            print(f"wrote {len(report.files)} files to {report.out_dir} (cut {report.data_cut}): "
                  + ", ".join(f"{k} {v}" for k, v in report.rows.items()))
        for c in changes:
            print(f"planted {c.change}: {c.domain} USUBJID={c.usubjid} {c.record} ({c.detail})")
        return EXIT_OK

    report = generate_extract(args.out, seed=args.seed, subjects=args.subjects, blinded=args.blinded,
                              data_cut=args.data_cut, with_problems=args.with_problems, file_format=args.format)
    print(f"wrote {len(report.files)} files to {args.out}: " + ", ".join(f"{k} {v}" for k, v in report.rows.items()))
    for p in report.problems:
        print(f"planted {p.check}: {p.domain} {p.file} row {p.row} USUBJID={p.usubjid} {p.column}={p.value}")
    return EXIT_OK


def _export(args) -> int:
    from dashboard.export import export_tables

    written = export_tables(args.extract, args.role, args.out)
    print(f"wrote {len(written)} tables to {args.out}")
    manifest = json.loads((args.out / "manifest.json").read_text(encoding="utf-8"))
    _audit_cli("export", args, manifest.get("extract_fingerprint"), tables=len(written))
    return EXIT_OK


def _report(args) -> int:
    from dashboard.export import write_meeting_packet

    from dashboard.filters import FilterSpec

    path = write_meeting_packet(args.extract, args.role, args.out, FilterSpec(data_cut=args.data_cut))
    print(f"wrote meeting packet {path}")
    _audit_cli("report_build", args, None)
    return EXIT_OK


def _audit_cli(event: str, args, fingerprint: str | None, **detail) -> None:
    """Record an export or report build in ``DSMB_AUDIT`` when it is set (user: the OS account).

    The packet command does not hand back the fingerprint (it is printed on the packet's cover),
    so a report build is recorded with the extract path instead."""
    from dashboard import audit

    path = audit.configured_path()
    if path is None:
        return
    import getpass

    audit.append(path, event, f"os:{getpass.getuser()}", args.role, fingerprint,
                 via="cli", extract=str(args.extract), out=str(args.out), **detail)


def _accounts_path(args) -> Path:
    from dashboard import accounts

    path = args.accounts or accounts.configured_path()
    if path is None:
        raise ValueError("no accounts file: give --accounts FILE or set DSMB_ACCOUNTS.")
    return path


def _read_password() -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            raise ValueError("the two passwords differ; nothing was changed.")
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise ValueError("no password on standard input; pipe one line (or run at a terminal to be prompted).")
    return line.rstrip("\r\n")


def _users(args) -> int:
    from dashboard import accounts

    path = _accounts_path(args)
    if args.users_command == "add":
        accounts.check_name(args.name)
        record = accounts.add_user(path, args.name, args.role, _read_password())
        print(f"added {args.name} ({', '.join(record['roles'])}) to {path}")
    elif args.users_command == "disable":
        accounts.disable_user(path, args.name)
        print(f"disabled {args.name} in {path}")
    else:
        rows = accounts.list_users(path)
        print(f"{'user':24} {'roles':40} {'status':9} created")
        for r in rows:
            print(f"{r['user']:24} {r['roles']:40} {'disabled' if r['disabled'] else 'enabled':9} {r['created']}")
        if not rows:
            print(f"(no users in {path})")
    return EXIT_OK


def _audit(args) -> int:
    from dashboard import audit

    path = args.audit or audit.configured_path()
    if path is None:
        print("error: no audit log: give --audit FILE or set DSMB_AUDIT.", file=sys.stderr)
        return audit.EXIT_UNUSABLE
    result = audit.verify(path)
    print(result.message, file=sys.stdout if result.intact else sys.stderr)
    return result.code


_COMMANDS = {"validate": _validate, "load": _load, "generate": _generate, "export": _export, "report": _report,
             "users": _users, "audit": _audit}
