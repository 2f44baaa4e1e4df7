"""The surge's load: a closed loop and an open loop, both on one asyncio loop in this process.

Each request opens its own connection (gunicorn's sync workers close every connection after
one answer; the kernel accepts into the listen backlog however busy the workers are), writes
the request, and reads the answer until the server closes. Times are this loop's monotonic
clock; a phase's `seconds` run from its first request sent to its last answer received.

Closed loop: `users` tasks, each sending its next request as soon as its last answer came (no
think time), until `seconds` have passed; the answers in flight are then awaited. The rate is
what the server gives at that concurrency, and the latency is users / rate (Little's law).

Open loop: request i is due at start + i / rate. The scheduler sleeps until each due time and
starts that request's task; nothing waits for an earlier answer before sending, so a slow
server makes the answers late, never the requests. Latency is counted from the due time, not
from when the bytes left, so a request sent late is charged its lateness too (no coordinated
omission). A send is late when its bytes reached the socket more than `late_ms` after its due
time; the schedule was kept when at most one send in a hundred was late.
"""

import asyncio
import json
import resource
import time

LATE_FRACTION = 0.01


def request(host: str, port: int, parent: dict | None) -> bytes:
    """GET the bare endpoint (`parent` None), or POST `parent`'s submission in their session."""
    if parent is None:
        return (
            f"GET /api/v1/healthz/ HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        ).encode()
    body = json.dumps(parent["payload"], ensure_ascii=False).encode()
    head = (
        "POST /api/v1/applications/ HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Cookie: sessionid={parent['session']}; csrftoken={parent['csrf']}\r\n"
        f"X-CSRFToken: {parent['csrf']}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


async def _one(host, port, data: bytes, due: float | None, timeout: float, index=None) -> dict:
    loop = asyncio.get_running_loop()
    began = loop.time()
    outcome = {"due": began if due is None else due, "sent": None, "done": None, "status": 0}
    outcome |= {"ref": None, "error": "", "index": index}
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(data)
            await writer.drain()
            outcome["sent"] = loop.time()
            answer = await reader.read()  # until the server closes (Connection: close)
        outcome["done"] = loop.time()
        head, _, body = answer.partition(b"\r\n\r\n")
        outcome["status"] = int(head.split(b" ", 2)[1]) if head else 0
        if outcome["status"] == 201:
            outcome["ref"] = json.loads(body)["ref"]
        elif outcome["status"] != 200:
            outcome["error"] = f"HTTP {outcome['status']}: {body[:120].decode(errors='replace')}"
    except (TimeoutError, OSError, ValueError, IndexError, KeyError) as error:
        outcome["done"] = loop.time()
        outcome["error"] = f"{type(error).__name__}: {error}"[:160]
    finally:
        if writer is not None:
            writer.close()
    return outcome


async def _closed(host, port, parents, users, seconds, timeout):
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    handed = {"next": 0, "exhausted": False}
    bare = request(host, port, None) if parents is None else b""
    outcomes = []

    async def user():
        while loop.time() < end:
            index = None
            if parents is None:
                data = bare
            else:
                if handed["next"] >= len(parents):
                    handed["exhausted"] = True
                    return
                index = handed["next"]
                data = request(host, port, parents[index])
                handed["next"] += 1
            outcomes.append(await _one(host, port, data, None, timeout, index))

    await asyncio.gather(*(user() for _ in range(users)))
    return outcomes, handed


async def _open(host, port, requests, rate, timeout, backlog):
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    tasks, waiting = [], {"answers": 0}

    def answered(_task) -> None:
        waiting["answers"] -= 1

    for index, data in enumerate(requests):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if waiting["answers"] > backlog:
            break  # the server has fallen behind by more than the backlog allows
        task = asyncio.create_task(_one(host, port, data, due, timeout, index))
        task.add_done_callback(answered)
        waiting["answers"] += 1
        tasks.append(task)
    return await asyncio.gather(*tasks)


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))], 1)


def _run(coroutine):
    """Run `coroutine` with as many sockets allowed as the hard limit gives (one a request in
    flight); returns its result and this process's CPU seconds meanwhile."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        cpu = time.process_time()
        result = asyncio.run(coroutine)
        return result, time.process_time() - cpu
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _figures(outcomes: list[dict], generator_cpu: float) -> dict:
    sent = [o for o in outcomes if o["sent"] is not None]
    answered = [o for o in outcomes if o["status"] in (200, 201)]
    latency = [1000 * (o["done"] - o["due"]) for o in answered]
    first = min((o["sent"] for o in sent), default=0.0)
    last = max((o["done"] for o in outcomes if o["done"] is not None), default=first)
    errors: dict[str, int] = {}
    for outcome in outcomes:
        if outcome["status"] not in (200, 201):
            errors[outcome["error"][:80]] = errors.get(outcome["error"][:80], 0) + 1
    return {
        "requests": len(outcomes),
        "ok": len(answered),
        "accepted": [o["ref"] for o in outcomes if o["ref"]],
        # Parents (by position) whose request got no answer at all: the client gave up.
        "unanswered": [o["index"] for o in outcomes if o["status"] == 0 and o["index"] is not None],
        "errors": len(outcomes) - len(answered),
        "seconds": max(last - first, 1e-9),
        "p50_ms": _percentile(latency, 0.50),
        "p95_ms": _percentile(latency, 0.95),
        "p99_ms": _percentile(latency, 0.99),
        "max_ms": round(max(latency), 1) if latency else None,
        "failures_sample": [f"{k} x{v}" for k, v in list(errors.items())[:5]],
        "generator_cpu_seconds": round(generator_cpu, 3),
    }


def closed_loop(
    host: str, port: int, parents: list[dict] | None, *, users: int, seconds: float,
    timeout: float = 60.0,
) -> dict:  # fmt: skip
    """`users` sending back to back for `seconds`: submissions of `parents` in order (each
    once), or the bare endpoint with `parents` None."""
    (outcomes, handed), cpu = _run(_closed(host, port, parents, users, seconds, timeout))
    return {**_figures(outcomes, cpu), "used": handed["next"], "exhausted": handed["exhausted"]}


def open_loop(
    host: str, port: int, parents: list[dict], *, rate: float, late_ms: float = 20.0,
    timeout: float = 30.0, behind_seconds: float = 5.0,
) -> dict:  # fmt: skip
    """One submission for each of `parents`, `rate` a second, on schedule.

    A machine that cannot keep up would pile up answers without end: once more than
    `behind_seconds` worth of requests are waiting for their answers, no more are sent, and
    the run says so (`fell_behind`, `scheduled` against `requests`).
    """
    requests = [request(host, port, parent) for parent in parents]
    backlog = max(1, round(rate * behind_seconds))
    outcomes, cpu = _run(_open(host, port, requests, rate, timeout, backlog))
    figures = _figures(outcomes, cpu)
    sent = [o for o in outcomes if o["sent"] is not None]
    lateness = [1000 * (o["sent"] - o["due"]) for o in sent]
    answered = [o for o in outcomes if o["status"] == 201]
    service = [1000 * (o["done"] - o["sent"]) for o in answered]
    late = sum(1 for value in lateness if value > late_ms)
    sent_times = [o["sent"] for o in sent]
    span = max(sent_times) - min(sent_times) if len(sent_times) > 1 else 0.0
    achieved = figures["ok"] / figures["seconds"]
    return {
        **figures,
        "scheduled": len(requests),
        "fell_behind": len(outcomes) < len(requests),
        # Kept up: every request sent and answered, at (nearly) the rate they were sent at.
        "kept_up": len(outcomes) == len(requests)
        and figures["errors"] == 0
        and achieved >= 0.95 * rate,
        "target_per_second": rate,
        "sent_per_second": round((len(sent) - 1) / span, 1) if span else 0.0,
        "service_p99_ms": _percentile(service, 0.99),
        "late_ms": late_ms,
        "late_sends": late,
        "late_send_p99_ms": _percentile(lateness, 0.99),
        "late_send_max_ms": round(max(lateness), 1) if lateness else None,
        "schedule_kept": bool(sent) and late <= LATE_FRACTION * len(outcomes),
    }
