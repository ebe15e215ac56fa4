"""`python -m <package>.consumer`: the billing consumer as a process. Given."""

from __future__ import annotations

import argparse
import os

from . import broker, db
from .consumers import apply_event, run_consumer
from .events import Event
from .retry import RetryPolicy
from .settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", default=f"pid-{os.getpid()}", help="this process's name")
    parser.add_argument("--prefetch", type=int, default=10)
    parser.add_argument("--max-messages", type=int, default=None)
    parser.add_argument("--idle-timeout", type=float, default=2.0)
    args = parser.parse_args()
    settings = Settings.from_env()
    with db.connect(settings.database_url) as conn:
        amqp = broker.connect(settings.amqp_url)
        try:

            def handle(event: Event) -> None:
                apply_event(conn, settings.consumer, event, args.worker)

            run_consumer(
                amqp.channel(),
                settings.queue,
                handle,
                prefetch=args.prefetch,
                max_messages=args.max_messages,
                idle_timeout=args.idle_timeout,
                policy=RetryPolicy(),
            )
        finally:
            amqp.close()


if __name__ == "__main__":
    main()
