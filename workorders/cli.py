"""Command line: `python -m workorders.cli verify [--all] [ORDER_ID ...] [--prefix wo] [--redis-url URL]`.

Exit status 0 when every checked chain is intact, 1 when any event was edited, deleted or reordered,
2 on bad usage.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys


async def _verify(args) -> int:
    from workorders.service import WorkOrderService

    svc = WorkOrderService.from_url(args.redis_url, prefix=args.prefix, classifier=None, router=None,
                                    directory=None)
    try:
        if args.all:
            reports = await svc.verify_all()
        else:
            reports = [await svc.verify(i) for i in args.order_ids]
    finally:
        await svc.redis.close()
    bad = [r for r in reports if not r.ok]
    for r in reports:
        if args.json:
            print(json.dumps(r.to_dict(), ensure_ascii=False))
        elif not r.ok or args.verbose:
            status = "正常 OK" if r.ok else "异常 BROKEN"
            print(f"{r.order_id}: {status} ({r.events} events)")
            for p in r.problems:
                print(f"    - {p}")
    print(f"checked {len(reports)} orders, {len(bad)} broken / 共核验{len(reports)}件，异常{len(bad)}件",
          file=sys.stderr)
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workorders.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="verify the hash chains of work orders")
    v.add_argument("order_ids", nargs="*")
    v.add_argument("--all", action="store_true")
    v.add_argument("--prefix", default="wo")
    v.add_argument("--redis-url", default=None)
    v.add_argument("--json", action="store_true")
    v.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "verify":
        if not args.all and not args.order_ids:
            parser.error("give ORDER_ID ... or --all")
        return asyncio.run(_verify(args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
