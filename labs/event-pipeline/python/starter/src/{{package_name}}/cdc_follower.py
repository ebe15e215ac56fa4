"""`python -m <package>.cdc_follower`: keep the read model in step with the WAL. Given."""

from __future__ import annotations

import argparse
import os
import time

from . import db
from .cdc import ensure_slot, sync_read_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slot", default=os.environ.get("CDC_SLOT", "order_view"))
    parser.add_argument("--once", action="store_true", help="exit when caught up")
    args = parser.parse_args()
    with db.connect(os.environ["DATABASE_URL"]) as conn:
        ensure_slot(conn, args.slot)
        while True:
            applied = sync_read_model(conn, args.slot)
            if args.once and not applied:
                break
            if not applied:
                time.sleep(0.5)


if __name__ == "__main__":
    main()
