"""examples/python/provider.py and worker.py as processes against a real
pigtaild: their flow end to end, and SIGTERM to a worker mid-task losing
nothing."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from pigtail_client import Client
from pigtaild import SOURCE_DIR, Pigtaild, wait_for

EXAMPLES = os.path.join(SOURCE_DIR, "examples", "python")


class Process:
    """An example run as a process; its output goes to a temporary file.
    Killed by its PID if the test leaves it running."""

    def __init__(self, script, args, env):
        self.out = tempfile.TemporaryFile()
        full_env = dict(os.environ)
        full_env.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(EXAMPLES, script)] + list(args),
            stdout=self.out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
        )

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("%s did not exit in %s s:\n%s" % (self.proc.args, timeout, self.output()))

    def output(self):
        self.out.seek(0)
        return self.out.read().decode("utf-8", "replace")[-6000:]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self):
        self.kill()
        self.out.close()


class ExamplesTest(unittest.TestCase):
    def setUp(self):
        self.node = Pigtaild(extra_args=["--client-token", "tok"])
        self.client = Client(self.node.url, token="tok")
        # The examples read the node and the token from the environment.
        self.env = {"PIGTAIL_URL": self.node.url, "PIGTAIL_TOKEN": "tok"}
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.close()
        self.node.stop()

    def run_example(self, script, *args):
        p = Process(script, args, self.env)
        self.procs.append(p)
        return p

    def test_provider_then_worker(self):
        provider = self.run_example("provider.py", "--count", "5", "--interval", "0")
        self.assertEqual(provider.wait(30), 0, provider.output())
        self.assertEqual(self.client.stats("example")["pending"], 5)
        worker = self.run_example(
            "worker.py", "--concurrency", "2", "--work-s", "0.2", "--wait-ms", "300", "--max-tasks", "5"
        )
        self.assertEqual(worker.wait(60), 0, worker.output())
        stats = self.client.stats("example")
        self.assertEqual((stats["done"], stats["pending"], stats["working"]), (5, 0, 0), worker.output())
        self.assertEqual(worker.output().count("Hello World with data"), 5)
        # Each done task has the handler's result.
        done = [self.client.get_task("example", i) for i, _ in self.client.all_tasks("example", "done")]
        self.assertEqual(len(done), 5)
        for task in done:
            self.assertEqual(task["result"], {"greeted": task["info"], "attempt": 1}, task)

    def test_sigterm_mid_task_loses_nothing(self):
        c = self.client
        c.create_queue("term", timeout_ms=30000)
        ids = [c.add("term", "hello_world", {"i": i}) for i in range(3)]
        # Tasks of 30 s, a grace of 1 s: SIGTERM leaves two tasks running
        # past the grace.
        worker = self.run_example(
            "worker.py", "--queue", "term", "--concurrency", "2", "--work-s", "30",
            "--grace-s", "1", "--wait-ms", "300",
        )
        busy = wait_for(lambda: worker.output().count("Hello World") == 2, timeout=20)
        self.assertTrue(busy, worker.output())
        worker.proc.send_signal(signal.SIGTERM)
        self.assertEqual(worker.wait(20), 0, worker.output())
        out = worker.output()
        self.assertEqual(out.count("still running after the grace"), 2, out)

        # Nothing is lost: the two are back in the queue at once (not after
        # their 30 s lease), with the third never claimed.
        states = {i: c.get_task("term", i) for i in ids}
        self.assertEqual(sorted(t["state"] for t in states.values()), ["pending"] * 3)
        self.assertEqual(sorted(t.get("error", "") for t in states.values()), ["", "worker stopped", "worker stopped"])
        self.assertEqual(c.stats("term")["claimable"], 3)

        second = self.run_example(
            "worker.py", "--queue", "term", "--concurrency", "3", "--work-s", "0.1",
            "--wait-ms", "300", "--max-tasks", "3",
        )
        self.assertEqual(second.wait(30), 0, second.output())
        self.assertEqual([c.get_task("term", i)["state"] for i in ids], ["done"] * 3)

    def test_a_second_signal_ends_the_grace(self):
        c = self.client
        c.create_queue("twice", timeout_ms=30000)
        task_id = c.add("twice", "hello_world", None)
        worker = self.run_example(
            "worker.py", "--queue", "twice", "--work-s", "60", "--grace-s", "60", "--wait-ms", "300"
        )
        self.assertTrue(wait_for(lambda: "Hello World" in worker.output(), timeout=20), worker.output())
        worker.proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        self.assertIsNone(worker.proc.poll())  # in its grace
        started = time.monotonic()
        worker.proc.send_signal(signal.SIGINT)
        self.assertEqual(worker.wait(20), 0, worker.output())
        self.assertLess(time.monotonic() - started, 5.0)
        task = c.get_task("twice", task_id)
        self.assertEqual((task["state"], task["error"]), ("pending", "worker stopped"))

    def test_sigterm_lets_tasks_finish_within_the_grace(self):
        c = self.client
        c.create_queue("grace", timeout_ms=600)
        ids = [c.add("grace", "hello_world", {"i": i}) for i in range(2)]
        worker = self.run_example(
            "worker.py", "--queue", "grace", "--concurrency", "2", "--work-s", "1.5",
            "--grace-s", "10", "--wait-ms", "300",
        )
        busy = wait_for(lambda: worker.output().count("Hello World") == 2, timeout=20)
        self.assertTrue(busy, worker.output())
        worker.proc.send_signal(signal.SIGTERM)
        self.assertEqual(worker.wait(20), 0, worker.output())
        # Both finished (heartbeats kept their 600 ms leases) and are done.
        self.assertEqual([c.get_task("grace", i)["state"] for i in ids], ["done"] * 2)
        self.assertEqual(worker.output().count("Hello World with data"), 2)


if __name__ == "__main__":
    unittest.main()
