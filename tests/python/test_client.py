"""The Python client's calls against a real pigtaild: every queue endpoint,
409s raised as Conflict with their reason, the token, and fail-over."""

import http.server
import threading
import time
import unittest
import uuid

from pigtail_client import Client, Conflict, PigtailError, Unavailable
from pigtaild import Pigtaild, closed_port, wait_for


class Answer503(http.server.BaseHTTPRequestHandler):
    """A node that answers every request 503 (unavailable)."""

    def _reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"error":"shutting down"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _reply

    def log_message(self, *args):
        pass


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.node = Pigtaild()
        self.client = Client(self.node.url, timeout=10)
        self.worker = str(uuid.uuid4())

    def tearDown(self):
        self.node.stop()

    def test_queue_and_task_calls(self):
        c = self.client
        self.assertEqual(c.create_queue("jobs", timeout_ms=30000), {"name": "jobs"})
        self.assertEqual(c.create_queue("jobs", timeout_ms=30000), {"name": "jobs"})
        self.assertIn({"name": "jobs", "timeout_ms": 30000}, c.queues())

        first = c.add("jobs", "first", {"n": 1})
        ids = c.add_batch(
            "jobs", [{"task_name": "second", "info": 2}, {"task_name": "third", "info": 3, "priority": 5}]
        )
        self.assertEqual(len(ids), 2)
        listed = c.tasks("jobs")
        self.assertEqual(set(listed), {first} | set(ids))
        self.assertEqual(listed[first], {"task_name": "first", "state": "pending"})
        task = c.get_task("jobs", first)
        self.assertEqual((task["task_name"], task["state"], task["info"]), ("first", "pending", {"n": 1}))

        # Claim-next: the priority 5 task first; the lease fields are there.
        claimed = c.claim("jobs", self.worker, max=1)
        self.assertEqual(len(claimed), 1)
        t = claimed[0]
        self.assertEqual((t.id, t.task_name, t.info), (ids[1], "third", 3))
        self.assertEqual((t.lease, t.attempt, t.lease_ms), (0, 1, 30000))
        self.assertGreater(t.expires_at_ms, 0)
        self.assertFalse(t.cancelled.is_set())

        beat = c.heartbeat("jobs", t.id, self.worker, t.lease)
        self.assertTrue(beat["heartbeat"])
        self.assertEqual(beat["lease"], 0)
        self.assertEqual(c.done("jobs", t.id, self.worker, lease=t.lease), {"changed": True})
        self.assertEqual(
            c.done("jobs", t.id, self.worker, lease=t.lease), {"changed": False, "reason": "done"}
        )
        self.assertEqual(c.get_task("jobs", t.id)["state"], "done")

        # Fail: the task is pending again, its next claim a new lease.
        [t] = c.claim("jobs", self.worker, max=1)
        failed = c.fail("jobs", t.id, self.worker, t.lease, "disk full")
        self.assertEqual((failed["state"], failed["attempts"]), ("pending", 1))
        self.assertEqual(c.get_task("jobs", t.id)["error"], "disk full")
        [again] = c.claim("jobs", self.worker, max=1)
        self.assertEqual((again.id, again.lease, again.attempt), (t.id, 1, 2))

        # Cancel: a heartbeat and a done of the cancelled task are 409s.
        self.assertEqual(c.cancel("jobs", again.id), {"state": "cancelled"})
        with self.assertRaises(Conflict) as e:
            c.heartbeat("jobs", again.id, self.worker, again.lease)
        self.assertEqual((e.exception.status, e.exception.reason), (409, "cancelled"))
        with self.assertRaises(Conflict) as e:
            c.done("jobs", again.id, self.worker, lease=again.lease)
        self.assertEqual(e.exception.reason, "cancelled")
        with self.assertRaises(Conflict) as e:
            c.cancel("jobs", again.id)
        self.assertEqual(e.exception.reason, "cancelled")

        # The original flow: PUT claims a given task; a stale lease is lost.
        put = c.claim_task("jobs", ids[0], self.worker)
        self.assertEqual((put.id, put.lease, put.attempt), (ids[0], 0, 1))
        with self.assertRaises(Conflict) as e:
            c.heartbeat("jobs", ids[0], self.worker, 7)
        self.assertEqual(e.exception.reason, "lease_lost")
        with self.assertRaises(Conflict) as e:
            c.heartbeat("jobs", ids[0], str(uuid.uuid4()), 0)
        self.assertEqual(e.exception.reason, "leased_by_another_worker")
        self.assertEqual(c.done("jobs", ids[0], self.worker), {"changed": True})

        stats = c.stats("jobs")
        self.assertEqual(
            {k: stats[k] for k in ("pending", "working", "done", "cancelled")},
            {"pending": 0, "working": 0, "done": 2, "cancelled": 1},
        )
        digest = c.digest()
        self.assertEqual(len(digest["total"]), 32)
        self.assertIn("jobs", digest["queues"])
        self.assertEqual(c.health()["status"], "ok")
        self.assertEqual(c.nodes(), [])

        c.delete_queue("jobs")
        with self.assertRaises(PigtailError) as e:
            c.tasks("jobs")
        self.assertEqual(e.exception.status, 404)
        self.assertNotIsInstance(e.exception, Conflict)

    def test_conflicts_carry_their_reason(self):
        c = self.client
        c.create_queue("q", timeout_ms=1000)
        with self.assertRaises(Conflict) as e:
            c.create_queue("q", timeout_ms=2000)
        self.assertEqual(e.exception.status, 409)
        self.assertEqual(e.exception.reason, "queue_exists")
        self.assertEqual(e.exception.body["queue"], {"name": "q", "timeout_ms": 1000})
        self.assertIn("queue_exists", str(e.exception))
        with self.assertRaises(PigtailError) as e:
            c.add("q", "x", delay_ms=-1)
        self.assertEqual(e.exception.status, 400)
        self.assertTrue(e.exception.message)

    def test_dead_tasks_are_listed_and_retried(self):
        c = self.client
        c.create_queue("q", timeout_ms=1000, max_attempts=1)
        ids = [c.add("q", "t%d" % i) for i in range(3)]
        claimed = c.claim("q", self.worker, max=3)
        self.assertEqual(len(claimed), 3)
        for t in claimed:
            c.fail("q", t.id, self.worker, t.lease, "boom")
        dead = c.tasks("q", state="dead")
        self.assertEqual(list(dead), ids)  # claim order: oldest first
        self.assertEqual([i for i, _ in c.all_tasks("q", state="dead", page=2)], ids)
        self.assertEqual(c.tasks("q", state="dead", limit=1, after=ids[0]), {ids[1]: dead[ids[1]]})
        self.assertEqual(c.retry("q", ids[0]), {"state": "pending", "round": 1})
        with self.assertRaises(Conflict) as e:
            c.retry("q", ids[0])
        self.assertEqual(e.exception.reason, "not_dead")
        self.assertEqual(list(c.tasks("q")), [ids[0]])
        self.assertEqual(c.get_task("q", ids[0])["round"], 1)
        with self.assertRaises(PigtailError) as e:
            c.tasks("q", state="finished")
        self.assertEqual(e.exception.status, 400)
        self.assertEqual(c.pause("q"), {"name": "q", "paused": True})
        self.assertEqual(c.claim("q", self.worker, max=3), [])
        self.assertTrue(c.stats("q")["paused"])
        self.assertEqual(c.resume("q"), {"name": "q", "paused": False})
        self.assertEqual([t.id for t in c.claim("q", self.worker, max=3)], [ids[0]])

    def test_results_progress_failures_and_run_at(self):
        c = self.client
        c.create_queue("h", timeout_ms=30000, max_attempts=3)
        task_id = c.add("h", "t", {"n": 1})
        task = c.get_task("h", task_id)
        self.assertEqual(task["attempts"], 0)
        for key in ("failures", "result", "progress", "run_at_ms", "expires_at_ms"):
            self.assertNotIn(key, task)
        self.assertIn("ready_at_ms", task)

        [t] = c.claim("h", self.worker, max=1)
        c.fail("h", t.id, self.worker, t.lease, "first try")
        task = c.get_task("h", task_id)
        self.assertEqual(task["attempts"], 1)
        self.assertEqual(len(task["failures"]), 1)
        failure = task["failures"][0]
        self.assertEqual(
            (failure["attempt"], failure["error"], failure["worker"]), (1, "first try", self.worker)
        )
        self.assertGreater(failure["at_ms"], 0)

        got = wait_for(lambda: c.claim("h", self.worker, max=1), timeout=20)
        self.assertEqual([x.id for x in got], [task_id])
        again = got[0]
        self.assertEqual(again.attempt, 2)
        c.heartbeat("h", task_id, self.worker, again.lease, progress={"pct": 50})
        task = c.get_task("h", task_id)
        self.assertEqual((task["state"], task["progress"], task["attempts"]), ("working", {"pct": 50}, 2))
        self.assertIn("expires_at_ms", task)
        self.assertNotIn("ready_at_ms", task)
        with self.assertRaises(PigtailError) as e:
            c.heartbeat("h", task_id, self.worker, again.lease, progress="x" * 5000)
        self.assertEqual(e.exception.status, 400)

        self.assertEqual(
            c.done("h", task_id, self.worker, lease=again.lease, result={"rows": [1, 2]}),
            {"changed": True},
        )
        task = c.get_task("h", task_id)
        self.assertEqual(
            (task["state"], task["result"], task["progress"]), ("done", {"rows": [1, 2]}, {"pct": 50})
        )

        # A batched done with results; a result of 64 KiB and more is refused.
        ids = c.add_batch("h", [{"task_name": "b1"}, {"task_name": "b2"}])
        claimed = {x.id: x for x in c.claim("h", self.worker, max=2)}
        self.assertEqual(set(claimed), set(ids))
        with self.assertRaises(PigtailError) as e:
            c.done("h", ids[0], self.worker, lease=claimed[ids[0]].lease, result="x" * 70000)
        self.assertEqual(e.exception.status, 400)
        reply = c.done_batch(
            "h",
            self.worker,
            [{"id": ids[0], "lease": claimed[ids[0]].lease, "result": "one"}, ids[1]],
        )
        self.assertEqual(reply["done"], 2)
        self.assertEqual(c.get_task("h", ids[0])["result"], "one")
        self.assertNotIn("result", c.get_task("h", ids[1]))

        # run_at_ms: not claimable before then.
        started = time.monotonic()
        run_at = int(time.time() * 1000) + 2000
        later = c.add("h", "later", run_at_ms=run_at)
        task = c.get_task("h", later)
        self.assertEqual(task["run_at_ms"], run_at)
        self.assertGreaterEqual(task["ready_at_ms"], run_at)
        self.assertEqual(c.claim("h", self.worker, max=1), [])
        got = wait_for(lambda: c.claim("h", self.worker, max=1), timeout=20)
        self.assertEqual([x.id for x in got], [later])
        self.assertGreaterEqual(time.monotonic() - started, 1.5)

    def test_purge(self):
        c = self.client
        c.create_queue("p", timeout_ms=30000)
        done = [c.add("p", "d%d" % i) for i in range(3)]
        cancelled = c.add("p", "c")
        pending = c.add("p", "p")
        for t in c.claim("p", self.worker, max=3):
            c.done("p", t.id, self.worker, lease=t.lease)
        c.cancel("p", cancelled)
        self.assertEqual(c.stats("p")["done"], 3)

        long_ago = int(time.time() * 1000) - 86400 * 1000
        self.assertEqual(c.purge("p", finished_before_ms=long_ago), {"purged": 0, "more": False})
        self.assertEqual(c.purge("p", state="done", max=2), {"purged": 2, "more": True})
        self.assertEqual(c.purge("p", state="done"), {"purged": 1, "more": False})
        for task_id in done:
            with self.assertRaises(PigtailError) as e:
                c.get_task("p", task_id)
            self.assertEqual(e.exception.status, 404)
        stats = c.stats("p")
        self.assertEqual((stats["done"], stats["cancelled"], stats["pending"]), (0, 1, 1))
        self.assertEqual(c.purge_all("p"), 1)
        self.assertEqual(c.get_task("p", pending)["state"], "pending")
        self.assertEqual(set(dict(c.all_tasks("p", state="all"))), {pending})
        with self.assertRaises(PigtailError) as e:
            c.purge("p", state="pending")
        self.assertEqual(e.exception.status, 400)
        with self.assertRaises(PigtailError) as e:
            c.purge("nope")
        self.assertEqual(e.exception.status, 404)

    def test_long_poll_claim_waits_then_answers_empty(self):
        c = self.client
        c.create_queue("idle", timeout_ms=1000)
        started = time.monotonic()
        self.assertEqual(c.claim("idle", self.worker, max=3, wait_ms=400), [])
        self.assertGreaterEqual(time.monotonic() - started, 0.35)

        # A task added during the wait wakes it.
        threading.Timer(0.2, lambda: c.add("idle", "late", None)).start()
        started = time.monotonic()
        claimed = c.claim("idle", self.worker, max=3, wait_ms=5000)
        self.assertEqual([t.task_name for t in claimed], ["late"])
        self.assertLess(time.monotonic() - started, 4.0)

    def test_fail_over_to_the_next_node(self):
        dead = "http://127.0.0.1:%d" % closed_port()
        c = Client([dead, self.node.url], timeout=5)
        c.create_queue("fo", timeout_ms=1000)
        self.assertEqual(c.stats("fo")["pending"], 0)
        # A node that answers 503 is passed over too.
        fake = http.server.HTTPServer(("127.0.0.1", 0), Answer503)
        threading.Thread(target=fake.serve_forever, daemon=True).start()
        try:
            busy = "http://127.0.0.1:%d" % fake.server_address[1]
            self.assertEqual(Client([busy, dead, self.node.url]).health()["status"], "ok")
            with self.assertRaises(Unavailable) as e:
                Client([busy]).health()
            self.assertEqual(e.exception.status, 503)
        finally:
            fake.shutdown()
            fake.server_close()
        with self.assertRaises(Unavailable) as e:
            Client([dead], timeout=2).health()
        self.assertEqual(e.exception.status, 0)

    def test_a_4xx_is_not_tried_on_the_next_node(self):
        with Pigtaild() as other:
            Client(other.url).create_queue("only_on_other", timeout_ms=1000)
            c = Client([self.node.url, other.url])
            with self.assertRaises(PigtailError) as e:
                c.stats("only_on_other")
            self.assertEqual(e.exception.status, 404)

    def test_token(self):
        with Pigtaild(extra_args=["--client-token", "s3cret"]) as secured:
            with self.assertRaises(PigtailError) as e:
                Client(secured.url).queues()
            self.assertEqual(e.exception.status, 401)
            with self.assertRaises(PigtailError) as e:
                Client(secured.url, token="wrong").queues()
            self.assertEqual(e.exception.status, 401)
            c = Client(secured.url, token="s3cret")
            c.create_queue("t", timeout_ms=1000)
            self.assertEqual(c.queues(), [{"name": "t", "timeout_ms": 1000}])


if __name__ == "__main__":
    unittest.main()
