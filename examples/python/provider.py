#!/usr/bin/env python3
# usage: provider.py [--url URL] [--queue example] [--count N] [--interval S]
#   Creates the queue (timeout 1 s, as the original Pigtail example) and adds
#   "hello_world" tasks, one every S seconds (default 5), N of them (default:
#   until interrupted). URL defaults to $PIGTAIL_URL or http://127.0.0.1:8000;
#   the token, if the node wants one, comes from $PIGTAIL_TOKEN.
"""The provider of Pigtail's original example, on the Python client."""

import argparse
import itertools
import logging
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "client", "python"))

from pigtail_client import Client, PigtailError  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description="Adds hello_world tasks to a Pigtail queue.")
    parser.add_argument("--url", action="append", help="node URL; repeat for fail-over")
    parser.add_argument("--queue", default="example")
    parser.add_argument("--timeout-ms", type=int, default=1000, help="the queue's lease length")
    parser.add_argument("--count", type=int, default=0, help="tasks to add; 0: until interrupted")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between adds")
    args = parser.parse_args()
    urls = args.url or [os.environ.get("PIGTAIL_URL", "http://127.0.0.1:8000")]
    logging.basicConfig(format="%(asctime)s: (%(levelname)s) %(name)s - %(message)s", level=logging.INFO)

    client = Client(urls, token=os.environ.get("PIGTAIL_TOKEN") or None)
    try:
        client.create_queue(args.queue, timeout_ms=args.timeout_ms)
        logging.info("queue %s ready", args.queue)
        for n in itertools.count(1):
            task_id = client.add(args.queue, "hello_world", {"foo": "bar", "n": n})
            logging.info("added /queue/%s/%s", args.queue, task_id)
            if args.count and n >= args.count:
                break
            time.sleep(args.interval)
    except PigtailError as e:
        logging.error("%s", e)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
