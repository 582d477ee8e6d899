"""A Python client for Pigtail's HTTP API, and a Worker that runs tasks.

Standard library only, Python 3.9+. One file: copy it next to your code.

    client = Client(["http://127.0.0.1:8000", "http://127.0.0.1:8001"], token=None)
    client.create_queue("emails", timeout_ms=30000)
    task_id = client.add("emails", "welcome", {"to": "a@example.org"})

    def handler(task):            # task.info, task.attempt, task.cancelled ...
        task.set_progress({"step": "sending"})   # sent with the next heartbeat
        return {"message_id": send_mail(task.info)}  # stored as the task's result

    Worker(client, "emails", handler, concurrency=4).run(install_signals=True)

Client: every method is one HTTP request (docs/http_api.md). With several
URLs, a connection error or a 503 moves on to the next node; any other error
reply is raised as PigtailError (409: Conflict, with its `reason`) and never
retried elsewhere. A write whose connection broke after it was sent may have
been applied before it is sent again to the next node: tasks run at least
once.

Worker: claims with a long poll up to its free slots, runs handler(task) in a
thread per task, heartbeats each held lease every lease_ms / 3 (with the
progress the handler set by task.set_progress, if any), and marks the task
done with its lease (fenced) when the handler returns, with the returned
value as the task's result unless it is None, or failed with the exception's
text when it raises. When a heartbeat says the task was
cancelled, finished elsewhere or its lease lost, task.cancelled is set (the
handler should stop) and the task is not marked done. stop(grace_s), SIGTERM
or SIGINT stop claiming, wait up to grace_s for running handlers, and fail
the ones still running with "worker stopped" so that they are retried.
docs/python_client.md has the details.
"""

import http.client
import json
import logging
import signal
import threading
import time
import urllib.parse
import uuid

__all__ = [
    "MAX_PROGRESS_BYTES",
    "MAX_RESULT_BYTES",
    "Client",
    "Conflict",
    "PigtailError",
    "Task",
    "Unavailable",
    "Worker",
]

log = logging.getLogger("pigtail")

# The largest progress (heartbeat) and result (done) the server takes: the
# size of the value as compact JSON (UTF-8).
MAX_PROGRESS_BYTES = 4096
MAX_RESULT_BYTES = 65536


def _json_size(value):
    """The size in bytes of value as compact JSON; TypeError or ValueError
    when it is not JSON-able (NaN and infinities are not JSON)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return len(text.encode("utf-8"))


class PigtailError(Exception):
    """An error reply (status >= 400) or, with status 0, no reply at all.

    status: the HTTP status (0 when no node answered); reason: the reply's
    "reason" (409s) or None; message: the reply's "error" text; body: the
    parsed reply body (a dict) or None.
    """

    def __init__(self, status, message, reason=None, body=None):
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body
        text = "HTTP %d: %s" % (status, message) if status else message
        if reason:
            text += " (reason: %s)" % reason
        super().__init__(text)


class Conflict(PigtailError):
    """A 409: the write lost to the current state; see .reason
    (lease_lost, cancelled, dead, done, done_by_another_worker, busy, ...)."""


class Unavailable(PigtailError):
    """No node answered, or every node answered 503."""


def _error(status, body_text):
    body = None
    message = body_text.strip() or http.client.responses.get(status, "error")
    reason = None
    try:
        parsed = json.loads(body_text)
        if isinstance(parsed, dict):
            body = parsed
            message = str(parsed.get("error", message))
            reason = parsed.get("reason")
    except ValueError:
        pass
    cls = Conflict if status == 409 else Unavailable if status == 503 else PigtailError
    return cls(status, message, reason, body)


def _q(name):
    return urllib.parse.quote(str(name), safe="")


class Task:
    """A claimed task.

    id, queue, task_name, info, worker (the worker id), lease (the fencing
    number), lease_ms, expires_at_ms, attempt (lease + 1), data (the raw
    reply). cancelled: a threading.Event the Worker sets when the task must
    stop (cancelled, finished elsewhere, lease lost, or the worker is
    stopping past its grace); cancel_reason says why. set_progress(value)
    hands the Worker a progress to send with the next heartbeat.
    """

    def __init__(self, queue, data):
        self.queue = queue
        self.data = data
        self.id = data.get("id")
        self.task_name = data.get("task_name")
        self.info = data.get("info")
        self.worker = data.get("worker")
        self.lease = data.get("lease")
        self.lease_ms = data.get("lease_ms")
        self.expires_at_ms = data.get("expires_at_ms")
        self.attempt = data.get("attempt")
        self.cancelled = threading.Event()
        self.cancel_reason = None
        self._progress_lock = threading.Lock()
        self._progress = None  # set, not sent yet
        self._progress_set = 0  # set_progress calls
        self._progress_taken = 0  # _progress_set when last taken

    def set_progress(self, value):
        """Sends value (any JSON-able value, at most MAX_PROGRESS_BYTES as
        compact JSON) with the task's next heartbeat, every lease_ms / 3
        under a Worker; a later call replaces a value not sent yet, and None
        sends nothing. Raises TypeError or ValueError (nothing kept) when
        value is not JSON-able or too large."""
        if value is not None:
            size = _json_size(value)
            if size > MAX_PROGRESS_BYTES:
                raise ValueError(
                    "progress is %d bytes as JSON, more than %d" % (size, MAX_PROGRESS_BYTES)
                )
        with self._progress_lock:
            self._progress = value
            self._progress_set += 1

    def _take_progress(self):
        with self._progress_lock:
            value, self._progress = self._progress, None
            self._progress_taken = self._progress_set
            return value

    def _restore_progress(self, value):
        # A heartbeat that did not go through: its progress goes with the
        # next one, unless a newer one was set meanwhile.
        with self._progress_lock:
            if self._progress_set == self._progress_taken:
                self._progress = value

    def __repr__(self):
        return "Task(%s/%s %r lease=%s attempt=%s)" % (
            self.queue,
            self.id,
            self.task_name,
            self.lease,
            self.attempt,
        )


class Client:
    """Pigtail's HTTP API on one or more nodes (fail-over in list order,
    starting from the last node that answered)."""

    def __init__(self, urls, token=None, timeout=10.0):
        if isinstance(urls, str):
            urls = [urls]
        self._nodes = []
        for url in urls:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("not an http:// URL: %r" % url)
            self._nodes.append((parts.scheme, parts.hostname, parts.port, parts.path.rstrip("/")))
        if not self._nodes:
            raise ValueError("no node URL given")
        self.urls = list(urls)
        self.token = token
        self.timeout = timeout
        self._current = 0
        self._lock = threading.Lock()

    # -- transport --------------------------------------------------------

    def request(self, method, path, body=None, timeout=None, ok=(200, 201, 204)):
        """Sends one request; returns the parsed JSON reply (None if empty).

        Tries each node once, starting from the last one that answered;
        moves on only after a connection error or a 503."""
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        with self._lock:
            start = self._current
        last = None
        for i in range(len(self._nodes)):
            index = (start + i) % len(self._nodes)
            scheme, host, port, prefix = self._nodes[index]
            cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            conn = cls(host, port, timeout=timeout or self.timeout)
            try:
                conn.request(method, prefix + path, body=payload, headers=headers)
                resp = conn.getresponse()
                status = resp.status
                text = resp.read().decode("utf-8", "replace")
            except (OSError, http.client.HTTPException) as e:
                last = Unavailable(0, "%s %s: %s" % (method, self.urls[index], e))
                log.debug("%s; trying the next node", last)
                continue
            finally:
                conn.close()
            if status == 503:
                last = _error(status, text)
                log.debug("%s from %s; trying the next node", last, self.urls[index])
                continue
            with self._lock:
                self._current = index
            if status not in ok:
                raise _error(status, text)
            if not text:
                return None
            try:
                return json.loads(text)
            except ValueError:
                raise PigtailError(status, "reply is not JSON: %r" % text[:200])
        raise last

    # -- queues -----------------------------------------------------------

    def create_queue(self, name, timeout_ms, max_attempts=None, backoff_ms=None):
        """POST /create; idempotent with the same settings, Conflict
        queue_exists with other ones (e.body["queue"] holds the current)."""
        body = {"name": name, "timeout_ms": timeout_ms}
        if max_attempts is not None:
            body["max_attempts"] = max_attempts
        if backoff_ms is not None:
            body["backoff_ms"] = backoff_ms
        return self.request("POST", "/create", body)

    def update_queue(self, name, **settings):
        """PATCH /queue/{name} with timeout_ms, max_attempts, backoff_ms
        (None clears the last two)."""
        return self.request("PATCH", "/queue/%s" % _q(name), settings)

    def queues(self):
        """GET /queues: a list of {"name","timeout_ms"[,...]}."""
        return self.request("GET", "/queues")["queues"]

    def stats(self, name):
        """GET /queue/{name}/stats: pending, working, done, dead, cancelled,
        claimable."""
        return self.request("GET", "/queue/%s/stats" % _q(name))

    def tasks(self, name, state=None, limit=None, after=None):
        """GET /queue/{name}: one page, {task id: {"task_name","state"}} in
        claim order. state: open (pending and working, the default),
        pending, delayed, working, done, dead, cancelled or all; limit: 1 to
        10000 (the server's default is 1000); after: the last id of the
        previous page."""
        query = [(k, v) for k, v in (("state", state), ("limit", limit), ("after", after)) if v]
        path = "/queue/%s" % _q(name)
        if query:
            path += "?" + urllib.parse.urlencode(query)
        return self.request("GET", path)

    def all_tasks(self, name, state=None, page=1000):
        """Every task of `state`, page by page: yields (id, {"task_name","state"})."""
        after = None
        while True:
            batch = self.tasks(name, state=state, limit=page, after=after)
            yield from batch.items()
            if len(batch) < page:
                return
            after = next(reversed(list(batch)))

    def pause(self, name):
        """POST /queue/{name}/pause: no claims until resume; running tasks go on."""
        return self.request("POST", "/queue/%s/pause" % _q(name))

    def resume(self, name):
        """POST /queue/{name}/resume."""
        return self.request("POST", "/queue/%s/resume" % _q(name))

    def delete_queue(self, name):
        return self.request("DELETE", "/queue/%s" % _q(name))

    # -- tasks ------------------------------------------------------------

    def add(
        self,
        name,
        task_name,
        info=None,
        priority=None,
        delay_ms=None,
        max_attempts=None,
        timeout_ms=None,
        run_at_ms=None,
    ):
        """POST /queue/{name}; returns the new task's id. run_at_ms: not
        claimable before this time (ms since the Unix epoch; with delay_ms
        too, the later of the two)."""
        body = {"task_name": task_name, "info": info}
        for key, value in (
            ("priority", priority),
            ("delay_ms", delay_ms),
            ("max_attempts", max_attempts),
            ("timeout_ms", timeout_ms),
            ("run_at_ms", run_at_ms),
        ):
            if value is not None:
                body[key] = value
        return self.request("POST", "/queue/%s" % _q(name), body)["id"]

    def add_batch(self, name, tasks):
        """POST /queue/{name}/batch; tasks are dicts as add's arguments
        ({"task_name","info",...}); all or nothing; returns the ids."""
        return self.request("POST", "/queue/%s/batch" % _q(name), list(tasks))["ids"]

    def get_task(self, name, task_id):
        """GET /queue/{name}/{id}: a dict with task_name, state, info,
        worker, lease, priority, attempts, and when they apply error, round,
        failures (the last failed attempts, oldest first: round, attempt,
        error, worker, at_ms), result, progress, run_at_ms, ready_at_ms
        (pending) and expires_at_ms (working)."""
        return self.request("GET", "/queue/%s/%s" % (_q(name), _q(task_id)))

    def claim(self, name, worker_id, max=1, wait_ms=0):
        """POST /queue/{name}/claim: up to `max` tasks as Task objects,
        waiting up to wait_ms for work to arrive (an empty list then)."""
        body = {"worker_id": str(worker_id), "max": max, "wait_ms": wait_ms}
        reply = self.request(
            "POST", "/queue/%s/claim" % _q(name), body, timeout=self.timeout + wait_ms / 1000.0
        )
        return [Task(name, t) for t in reply["tasks"]]

    def claim_task(self, name, task_id, worker_id):
        """PUT /queue/{name}/{id} without a lease: claims this task (the
        original Pigtail flow); returns a Task."""
        reply = self.request(
            "PUT", "/queue/%s/%s" % (_q(name), _q(task_id)), {"worker_id": str(worker_id)}
        )
        return Task(name, dict(reply, id=task_id))

    def heartbeat(self, name, task_id, worker_id, lease, timeout=None, progress=None):
        """PUT /queue/{name}/{id} with the lease: renews it; Conflict with
        lease_lost, cancelled, done, done_by_another_worker, dead, ...
        progress: any JSON-able value (at most MAX_PROGRESS_BYTES as JSON;
        None is not sent), kept as the task's progress."""
        body = {"worker_id": str(worker_id), "lease": lease}
        if progress is not None:
            body["progress"] = progress
        return self.request("PUT", "/queue/%s/%s" % (_q(name), _q(task_id)), body, timeout=timeout)

    def done(self, name, task_id, worker_id, lease=None, result=None):
        """DELETE /queue/{name}/{id}: {"changed":true}, or on a task already
        done {"changed":false,"reason":...}; with a lease it is fenced
        (Conflict lease_lost when not held). result: any JSON-able value (at
        most MAX_RESULT_BYTES as JSON; None is not sent), kept as the
        task's result."""
        body = {"worker_id": str(worker_id)}
        if lease is not None:
            body["lease"] = lease
        if result is not None:
            body["result"] = result
        return self.request("DELETE", "/queue/%s/%s" % (_q(name), _q(task_id)), body)

    def done_batch(self, name, worker_id, tasks):
        """POST /queue/{name}/done; tasks are ids or {"id"[,"lease"][,"result"]}
        dicts; returns {"done", "results"} (per-item errors are in results)."""
        body = {"worker_id": str(worker_id), "tasks": list(tasks)}
        return self.request("POST", "/queue/%s/done" % _q(name), body)

    def fail(self, name, task_id, worker_id, lease, error=""):
        """POST /queue/{name}/{id}/fail: {"state":"pending"|"dead",
        "retry_in_ms","attempts","changed"}."""
        body = {"worker_id": str(worker_id), "lease": lease, "error": error}
        return self.request("POST", "/queue/%s/%s/fail" % (_q(name), _q(task_id)), body)

    def retry(self, name, task_id):
        """POST /queue/{name}/{id}/retry: a dead task runs again, pending in
        its next round with fresh attempts; {"state":"pending","round"}.
        Conflict not_dead, done or cancelled otherwise."""
        return self.request("POST", "/queue/%s/%s/retry" % (_q(name), _q(task_id)))

    def cancel(self, name, task_id):
        """POST /queue/{name}/{id}/cancel; Conflict done, dead or cancelled
        when already finished."""
        return self.request("POST", "/queue/%s/%s/cancel" % (_q(name), _q(task_id)))

    def purge(self, name, state=None, finished_before_ms=None, max=None):
        """POST /queue/{name}/purge: deletes up to `max` (server default
        10000) finished tasks of the queue for good; {"purged":n,"more":bool},
        more meaning matching tasks remain (call again). state: "finished"
        (done, dead and cancelled: the server's default), "done", "dead" or
        "cancelled"; finished_before_ms: only tasks finished before this time
        (ms since the Unix epoch)."""
        body = {
            key: value
            for key, value in (
                ("state", state),
                ("finished_before_ms", finished_before_ms),
                ("max", max),
            )
            if value is not None
        }
        return self.request("POST", "/queue/%s/purge" % _q(name), body or None)

    def purge_all(self, name, state=None, finished_before_ms=None, max_calls=10000):
        """purge() again while it answers more (at most max_calls times);
        returns the number purged."""
        purged = 0
        for _ in range(max_calls):
            reply = self.purge(name, state=state, finished_before_ms=finished_before_ms)
            purged += reply.get("purged", 0)
            if not reply.get("more"):
                break
        return purged

    # -- node -------------------------------------------------------------

    def digest(self):
        return self.request("GET", "/digest")

    def nodes(self):
        return self.request("GET", "/nodes")

    def health(self):
        return self.request("GET", "/health")


# Heartbeat replies after which a task must stop: it is not ours any more.
_GONE = frozenset(
    ["lease_lost", "leased_by_another_worker", "cancelled", "dead", "done", "done_by_another_worker"]
)


class Worker:
    """Runs handler(task) for the tasks of one queue, `concurrency` at a
    time (see the module's docstring).

    wait_ms: the claim's long poll; max_error: the longest error text sent
    with fail; max_tasks: stop by itself after this many tasks finished
    (handled, failed or lost), None for never."""

    def __init__(
        self,
        client,
        queue,
        handler,
        concurrency=1,
        worker_id=None,
        wait_ms=5000,
        heartbeat_fraction=1.0 / 3,
        max_error=2000,
        max_tasks=None,
    ):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = client
        self.queue = queue
        self.handler = handler
        self.concurrency = concurrency
        self.worker_id = str(worker_id or uuid.uuid4())
        self.wait_ms = wait_ms
        self.heartbeat_fraction = heartbeat_fraction
        self.max_error = max_error
        self.max_tasks = max_tasks
        self.finished = 0  # tasks whose handling ended, however
        self._lock = threading.Condition()
        self._held = {}  # task id -> [Task, next heartbeat (monotonic s)]
        self._running = {}  # task id -> Task whose handler runs
        self._stop = threading.Event()
        self._beat_stop = threading.Event()
        self._started = False
        self._grace = 30.0
        self._stopped_at = None
        self._signals = 0  # set by the signal handler, which takes no lock
        self._done = threading.Event()

    # -- control ----------------------------------------------------------

    def run(self, install_signals=False, grace_s=30.0):
        """Claims and runs tasks until stop() (or, with install_signals,
        SIGTERM/SIGINT, which stop with grace_s); returns after the
        shutdown: every handler finished and reported, or failed with
        "worker stopped" when still running after the grace. Once only."""
        with self._lock:
            if self._started:
                raise RuntimeError("a Worker runs once")
            self._started = True
            self._grace = grace_s
        previous = {}
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        log.info("worker %s on queue %s, %d slots", self.worker_id, self.queue, self.concurrency)
        beat = threading.Thread(target=self._heartbeat_loop, name="pigtail-heartbeat", daemon=True)
        claim = threading.Thread(target=self._claim_loop, name="pigtail-claim", daemon=True)
        beat.start()
        claim.start()
        try:
            # Polled, not waited on: a signal handler must not take a lock
            # that the interrupted code may hold.
            while not self._stop.is_set() and not self._signals:
                time.sleep(0.1)
            if self._signals:
                log.info("stopping on a signal (grace %.1f s)", self._grace)
            self._request_stop(self._grace)
            self._shutdown(claim)
        finally:
            self._stop.set()
            self._beat_stop.set()
            beat.join(5)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._done.set()
            log.info("worker %s stopped", self.worker_id)

    def stop(self, grace_s=30.0, wait=True):
        """Stops claiming; running handlers get grace_s seconds to finish,
        then are failed with "worker stopped". With wait, blocks until run()
        has returned (bounded: grace_s, a long poll and a few requests);
        returns whether it has."""
        self._request_stop(grace_s)
        if not wait or not self._started:
            return self._done.is_set()
        limit = grace_s + self.wait_ms / 1000.0 + 4 * self.client.timeout + 5
        return self._done.wait(limit)

    def _request_stop(self, grace_s):
        with self._lock:
            if self._stopped_at is None:
                self._grace = grace_s
                self._stopped_at = time.monotonic()
            self._stop.set()
            self._lock.notify_all()

    def _on_signal(self, signum, frame):
        # A second signal ends the grace at once.
        self._signals += 1

    def _shutdown(self, claim_thread):
        with self._lock:
            deadline = self._stopped_at + self._grace
            while self._running and time.monotonic() < deadline and self._signals < 2:
                self._lock.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            left = [t for t in self._running.values() if not t._reporting]
            for task in left:
                task._abandoned = True
                self._running.pop(task.id, None)
                self._held.pop(task.id, None)
                task.cancel_reason = "worker stopped"
                task.cancelled.set()
        for task in left:
            log.warning("task %s still running after the grace: failing it for a retry", task.id)
            self._fail(task, "worker stopped")
        claim_thread.join(self.wait_ms / 1000.0 + self.client.timeout + 1)
        # Dones and fails already on their way are let through.
        with self._lock:
            until = time.monotonic() + 2 * self.client.timeout
            while self._running and time.monotonic() < until:
                self._lock.wait(0.1)

    # -- claiming ---------------------------------------------------------

    def _claim_loop(self):
        backoff = 0.2
        while not self._stop.is_set():
            with self._lock:
                while len(self._running) >= self.concurrency and not self._stop.is_set():
                    self._lock.wait(0.5)
                free = self.concurrency - len(self._running)
                if self.max_tasks is not None:
                    free = min(free, self.max_tasks - self.finished - len(self._running))
            if self._stop.is_set():
                return
            if free <= 0:
                self._stop.wait(0.2)
                continue
            sent = time.monotonic()
            try:
                tasks = self.client.claim(self.queue, self.worker_id, max=free, wait_ms=self.wait_ms)
                backoff = 0.2
            except PigtailError as e:
                log.warning("claim on %s: %s; retrying in %.1f s", self.queue, e, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self._start(tasks, sent)

    def _start(self, tasks, claimed_at):
        # The tasks of one claim all run, or (claimed while stopping) all
        # go back at once.
        with self._lock:
            stopped = self._stop.is_set()
            for task in tasks:
                task._reporting = False
                task._abandoned = False
                if not stopped:
                    interval = (task.lease_ms or 30000) / 1000.0 * self.heartbeat_fraction
                    self._held[task.id] = [task, claimed_at + interval]
                    self._running[task.id] = task
        for task in tasks:
            if stopped:
                self._fail(task, "worker stopped")
                continue
            log.info("claimed %r", task)
            threading.Thread(
                target=self._run_task, args=(task,), name="pigtail-task-%s" % task.id, daemon=True
            ).start()

    def _run_task(self, task):
        with self._lock:
            if task._abandoned:  # failed back before it could start
                return
        error = None
        result = None
        try:
            result = self.handler(task)
            if result is not None:
                try:
                    size = _json_size(result)
                except (TypeError, ValueError) as e:
                    raise ValueError("the result is not JSON: %s" % e)
                if size > MAX_RESULT_BYTES:
                    raise ValueError(
                        "the result is %d bytes as JSON, more than %d" % (size, MAX_RESULT_BYTES)
                    )
        except BaseException as e:  # the handler's failure is the task's
            error = self._error_text(e)
        with self._lock:
            ours = not task._abandoned
            task._reporting = ours
            self._held.pop(task.id, None)
        try:
            if not ours:
                log.info("task %s ended after the worker gave it up; not reported", task.id)
            elif task.cancelled.is_set():
                log.info("task %s not marked done: %s", task.id, task.cancel_reason)
            elif error is None:
                self._done_task(task, result)
            else:
                log.warning("task %s failed: %s", task.id, error)
                self._fail(task, error)
        finally:
            with self._lock:
                if ours:
                    self._running.pop(task.id, None)
                self.finished += 1
                self._lock.notify_all()
                reached = self.max_tasks is not None and self.finished >= self.max_tasks
            if reached:
                self._request_stop(self._grace)

    def _error_text(self, e):
        error = "%s: %s" % (type(e).__name__, e)
        if len(error) > self.max_error:
            error = error[: self.max_error - 3] + "..."
        return error

    def _done_task(self, task, result=None):
        # A done is idempotent (a repeat answers changed:false), so a done
        # lost on the way is sent again while the lease may still hold.
        until = time.monotonic() + (task.lease_ms or 30000) / 1000.0
        while True:
            try:
                reply = self.client.done(
                    self.queue, task.id, self.worker_id, lease=task.lease, result=result
                )
                if reply.get("changed"):
                    log.info("task %s done", task.id)
                else:
                    log.info("task %s was already done (%s)", task.id, reply.get("reason"))
                return
            except Conflict as e:
                log.warning("task %s not marked done: %s", task.id, e)
                return
            except PigtailError as e:
                if e.status == 400 and result is not None:
                    if "unknown field" in e.message:
                        # A server older than results: done all the same.
                        log.warning("task %s: result not stored: %s", task.id, e)
                        result = None
                        continue
                    # The result was refused: the task fails with why,
                    # rather than waiting for its lease to run out.
                    self._fail(task, self._error_text(ValueError("result not stored: %s" % e)))
                    return
                if e.status not in (0, 503) or time.monotonic() > until:
                    log.error("task %s: done not delivered: %s", task.id, e)
                    return
                time.sleep(0.2)

    def _fail(self, task, error):
        try:
            reply = self.client.fail(self.queue, task.id, self.worker_id, task.lease, error)
            log.info("task %s failed back: %s", task.id, reply.get("state"))
        except PigtailError as e:
            # The lease runs out by itself; the task is claimable then.
            log.warning("task %s: fail not delivered: %s", task.id, e)

    # -- heartbeats -------------------------------------------------------

    def _heartbeat_loop(self):
        # Runs until run() has returned: handlers in their grace keep
        # their leases.
        while not self._beat_stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                due = [entry[0] for entry in self._held.values() if entry[1] <= now]
            for task in due:
                self._heartbeat(task)

    def _heartbeat(self, task):
        interval = (task.lease_ms or 30000) / 1000.0 * self.heartbeat_fraction
        sent = time.monotonic()
        progress = task._take_progress()
        try:
            reply = self.client.heartbeat(
                self.queue,
                task.id,
                self.worker_id,
                task.lease,
                timeout=max(0.5, interval),
                progress=progress,
            )
        except Conflict as e:
            if e.reason in _GONE:
                self._lose(task, e.reason)
            else:  # busy, not_ready: try again soon
                if progress is not None:
                    task._restore_progress(progress)
                self._reschedule(task, sent + min(interval, 0.1))
            return
        except PigtailError as e:
            if e.status == 404:  # the task or its queue was deleted
                self._lose(task, "deleted")
                return
            if e.status == 400 and progress is not None:
                # The progress was refused, not the lease: renew it at once
                # without the progress.
                log.warning("task %s: progress not sent: %s", task.id, e)
                self._reschedule(task, sent)
                return
            log.warning("heartbeat of task %s: %s", task.id, e)
            if progress is not None:
                task._restore_progress(progress)
            self._reschedule(task, sent + min(interval, 0.2))
            return
        if reply.get("lease") != task.lease:  # cannot happen with a lease sent
            self._lose(task, "lease_lost")
            return
        self._reschedule(task, sent + interval)

    def _lose(self, task, reason):
        """The task is not ours any more: no more heartbeats, no done, and
        the handler is told through task.cancelled."""
        with self._lock:
            if self._held.pop(task.id, None) is None:
                return  # finished meanwhile
            task.cancel_reason = reason
            task.cancelled.set()
        log.warning("task %s: %s; telling the handler to stop", task.id, reason)

    def _reschedule(self, task, when):
        with self._lock:
            entry = self._held.get(task.id)
            if entry is not None:
                entry[1] = when
