"""The Python Worker against a real pigtaild: leases kept by heartbeats for
handlers that outlive them (on RocksDB, and on PostgreSQL when
$PIGTAIL_TEST_POSTGRES_URI is set), a cancel seen by the handler, failures,
and a stop whose grace runs out."""

import collections
import logging
import threading
import time
import unittest
import uuid

from pigtail_client import Client, Worker
from pigtaild import POSTGRES_URI, Pigtaild, wait_for

logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(threadName)s %(message)s")


class Running:
    """A Worker.run() in a thread, stopped (bounded) on exit."""

    def __init__(self, worker, grace_s=5.0):
        self.worker = worker
        self.grace_s = grace_s
        self.thread = threading.Thread(target=worker.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self.worker

    def __exit__(self, *exc):
        self.worker.stop(self.grace_s)
        self.thread.join(30)
        assert not self.thread.is_alive(), "Worker.run() did not return"


class WorkerOnceTest(unittest.TestCase):
    """Handlers run for several lease lengths; heartbeats keep the leases,
    so each task runs exactly once and ends done."""

    backend = "rocksdb"

    def test_each_task_runs_once_across_several_leases(self):
        with Pigtaild(backend=self.backend) as node:
            client = Client(node.url)
            client.create_queue("slow", timeout_ms=600)
            ids = [client.add("slow", "t%d" % i, {"i": i}) for i in range(3)]
            runs = collections.Counter()
            lock = threading.Lock()
            lost = []

            def handler(task):
                with lock:
                    runs[task.id] += 1
                time.sleep(2.0)  # over three lease lengths
                if task.cancelled.is_set():
                    lost.append(task.cancel_reason)

            # Once the Worker holds two tasks, a second one with two slots
            # starts: it takes the third task and keeps polling with its free
            # slot, so an expired lease would hand a task to it (or back to
            # the first one) and run it twice.
            with Running(Worker(client, "slow", handler, concurrency=2, wait_ms=300)):
                busy = wait_for(lambda: client.stats("slow")["working"] == 2, timeout=10)
                self.assertTrue(busy)
                with Running(Worker(client, "slow", handler, concurrency=2, wait_ms=300)):
                    done = wait_for(lambda: client.stats("slow")["done"] == 3, timeout=30)
                    # Time for a lost lease to be re-claimed and run again.
                    time.sleep(1.0)
            stats = client.stats("slow")
            self.assertEqual(dict(runs), {i: 1 for i in ids})
            self.assertTrue(done, stats)
            self.assertEqual(lost, [])
            self.assertEqual([client.get_task("slow", i)["state"] for i in ids], ["done"] * 3)
            self.assertEqual((stats["done"], stats["pending"], stats["working"]), (3, 0, 0))


@unittest.skipUnless(
    POSTGRES_URI, "PIGTAIL_TEST_POSTGRES_URI is unset: the PostgreSQL run is skipped"
)
class WorkerOncePostgresTest(WorkerOnceTest):
    backend = "postgresql"


class WorkerTest(unittest.TestCase):
    def setUp(self):
        self.node = Pigtaild()
        self.client = Client(self.node.url)

    def tearDown(self):
        self.node.stop()

    def test_cancel_from_outside_reaches_the_handler(self):
        c = self.client
        c.create_queue("c", timeout_ms=600)
        task_id = c.add("c", "long", None)
        started = threading.Event()
        seen = {}

        def handler(task):
            started.set()
            seen["cancelled"] = task.cancelled.wait(10)
            seen["reason"] = task.cancel_reason

        with Running(Worker(c, "c", handler, concurrency=1, wait_ms=300)):
            self.assertTrue(started.wait(10))
            t0 = time.monotonic()
            c.cancel("c", task_id)
            wait_for(lambda: "cancelled" in seen, timeout=10)
            waited = time.monotonic() - t0
            time.sleep(0.3)  # a done, if the worker sent one, is in by now
        self.assertEqual(seen, {"cancelled": True, "reason": "cancelled"})
        self.assertLess(waited, 3.0)  # a heartbeat or a few (every 200 ms)
        self.assertEqual(c.get_task("c", task_id)["state"], "cancelled")
        self.assertEqual(c.stats("c")["done"], 0)

    def test_done_elsewhere_reaches_the_handler(self):
        c = self.client
        c.create_queue("d", timeout_ms=600)
        task_id = c.add("d", "long", None)
        started = threading.Event()
        seen = {}

        def handler(task):
            started.set()
            seen["cancelled"] = task.cancelled.wait(10)
            seen["reason"] = task.cancel_reason

        with Running(Worker(c, "d", handler, concurrency=1, wait_ms=300)):
            self.assertTrue(started.wait(10))
            # Any worker may mark a task done (the original Pigtail rule).
            self.assertEqual(c.done("d", task_id, str(uuid.uuid4())), {"changed": True})
            wait_for(lambda: "cancelled" in seen, timeout=10)
        self.assertEqual(seen, {"cancelled": True, "reason": "done_by_another_worker"})
        self.assertEqual(c.get_task("d", task_id)["state"], "done")

    def test_a_raising_handler_fails_the_task_with_bounded_text(self):
        c = self.client
        c.create_queue("f", timeout_ms=5000, max_attempts=2)
        task_id = c.add("f", "bad", None)
        attempts = []

        def handler(task):
            attempts.append(task.attempt)
            raise ValueError("boom " * 1000)

        with Running(Worker(c, "f", handler, wait_ms=300, max_error=100)):
            wait_for(lambda: c.get_task("f", task_id)["state"] == "dead", timeout=10)
        task = c.get_task("f", task_id)
        self.assertEqual(task["state"], "dead")
        self.assertEqual(attempts, [1, 2])
        self.assertTrue(task["error"].startswith("ValueError: boom boom"), task["error"])
        self.assertLessEqual(len(task["error"]), 100)

    def test_progress_and_results(self):
        c = self.client
        c.create_queue("r", timeout_ms=900, max_attempts=1)  # a heartbeat every 300 ms
        good = c.add("r", "good", None)
        unjsonable = c.add("r", "set", None)
        seen = {}

        def handler(task):
            if task.task_name == "set":
                return {1, 2}  # a set is not JSON: the task fails
            with self.assertRaises(ValueError):
                task.set_progress("x" * 5000)
            task.set_progress({"step": 1})
            seen["progress"] = wait_for(
                lambda: c.get_task("r", task.id).get("progress") == {"step": 1}, timeout=10
            )
            return {"answer": 42}

        with Running(Worker(c, "r", handler, concurrency=2, wait_ms=300)):
            finished = wait_for(
                lambda: c.get_task("r", good)["state"] == "done"
                and c.get_task("r", unjsonable)["state"] == "dead",
                timeout=20,
            )
        self.assertTrue(finished)
        self.assertTrue(seen["progress"])
        task = c.get_task("r", good)
        self.assertEqual((task["result"], task["progress"]), ({"answer": 42}, {"step": 1}))
        task = c.get_task("r", unjsonable)
        self.assertNotIn("result", task)
        self.assertTrue(task["error"].startswith("ValueError: the result is not JSON"), task["error"])

    def test_stop_fails_back_what_outlives_the_grace(self):
        c = self.client
        c.create_queue("s", timeout_ms=60000)
        slow = c.add("s", "slow", None)
        quick = c.add("s", "quick", None)
        started = {"slow": threading.Event(), "quick": threading.Event()}
        ran = collections.Counter()

        def handler(task):
            ran[task.task_name] += 1
            started[task.task_name].set()
            # slow ignores task.cancelled; quick ends within the grace.
            time.sleep(4 if task.task_name == "slow" else 0.5)

        worker = Worker(c, "s", handler, concurrency=2, wait_ms=300)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        self.assertTrue(started["slow"].wait(10) and started["quick"].wait(10))
        t0 = time.monotonic()
        self.assertTrue(worker.stop(grace_s=1.0))
        self.assertLess(time.monotonic() - t0, 3.5)
        thread.join(5)
        self.assertFalse(thread.is_alive())
        self.assertEqual(c.get_task("s", quick)["state"], "done")
        # The slow one went back to the queue at once (not after its
        # 60 s lease) and another worker finishes it.
        task = c.get_task("s", slow)
        self.assertEqual((task["state"], task["error"]), ("pending", "worker stopped"))
        self.assertEqual(c.stats("s")["claimable"], 1)

        def finish(task):
            ran["second " + task.task_name] += 1

        with Running(Worker(c, "s", finish, wait_ms=300)):
            wait_for(lambda: c.stats("s")["done"] == 2, timeout=10)
        self.assertEqual(c.get_task("s", slow)["state"], "done")
        self.assertEqual(dict(ran), {"slow": 1, "quick": 1, "second slow": 1})


if __name__ == "__main__":
    unittest.main()
