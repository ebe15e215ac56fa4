"""`python -m <package>.relay`: publish the outbox until it is empty (or forever). Given."""

from __future__ import annotations

import argparse
import time

from . import broker, db
from .outbox import Relay
from .settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="exit when nothing is pending")
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    settings = Settings.from_env()
    with db.connect(settings.database_url) as conn:
        amqp = broker.connect(settings.amqp_url)
        try:
            relay = Relay(conn, amqp, settings.exchange)
            while True:
                published = relay.drain(args.batch_size)
                if args.once:
                    break
                if not published:
                    time.sleep(0.5)
        finally:
            amqp.close()


if __name__ == "__main__":
    main()
