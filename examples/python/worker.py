#!/usr/bin/env python3
# usage: worker.py [--url URL] [--queue example] [--concurrency N] [--work-s S] [--max-tasks N]
#   Claims the queue's tasks (long poll), works on each (sleeps S seconds,
#   default 0.5) while the client heartbeats its lease, and marks it done
#   with a result.
#   SIGTERM or SIGINT: stops claiming, lets running tasks finish within
#   --grace-s, fails the rest back to the queue. URL defaults to $PIGTAIL_URL
#   or http://127.0.0.1:8000; the token comes from $PIGTAIL_TOKEN.
"""The worker of Pigtail's original example, on the Python client."""

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "client", "python"))

from pigtail_client import Client, Worker  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description="Works on a Pigtail queue's hello_world tasks.")
    parser.add_argument("--url", action="append", help="node URL; repeat for fail-over")
    parser.add_argument("--queue", default="example")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--work-s", type=float, default=0.5, help="seconds each task takes")
    parser.add_argument("--grace-s", type=float, default=10.0, help="grace for running tasks at stop")
    parser.add_argument("--max-tasks", type=int, default=None, help="exit after this many tasks")
    parser.add_argument("--wait-ms", type=int, default=5000, help="long poll of each claim")
    args = parser.parse_args()
    urls = args.url or [os.environ.get("PIGTAIL_URL", "http://127.0.0.1:8000")]
    logging.basicConfig(format="%(asctime)s: (%(levelname)s) %(name)s - %(message)s", level=logging.INFO)

    def hello_world(task):
        logging.info("Hello World with data %s (attempt %s)", task.info, task.attempt)
        # Progress goes out with the next heartbeat (GET shows "progress").
        task.set_progress({"said": "Hello World"})
        # The work: a cooperative sleep that ends early when the task is
        # cancelled or its lease is lost.
        if task.cancelled.wait(args.work_s):
            logging.info("task %s stopped: %s", task.id, task.cancel_reason)
            return None
        # Stored with the done as the task's result (GET shows "result").
        return {"greeted": task.info, "attempt": task.attempt}

    client = Client(urls, token=os.environ.get("PIGTAIL_TOKEN") or None)
    worker = Worker(
        client,
        args.queue,
        hello_world,
        concurrency=args.concurrency,
        wait_ms=args.wait_ms,
        max_tasks=args.max_tasks,
    )
    worker.run(install_signals=True, grace_s=args.grace_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
