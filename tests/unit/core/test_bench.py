"""The bench runner's pure parts: discovery, ratio formatting, percentiles, the load client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from careclub.core.bench import (
    BENCH_DIR,
    CpuMeter,
    Endpoint,
    LoadResult,
    _Request,
    discover,
    format_ratio,
    load_module,
    percentile,
    ratio_line,
    run_load,
)


def test_discover_finds_benchmarks_and_skips_helpers(tmp_path: Path) -> None:
    (tmp_path / "checkin.py").write_text("async def run(ctx):\n    return ['x']\n")
    (tmp_path / "platform.py").write_text("async def run(ctx):\n    return []\n")
    (tmp_path / "_helpers.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    found = discover(tmp_path)
    assert list(found) == ["checkin", "platform"]
    assert found["checkin"] == tmp_path / "checkin.py"
    assert discover(tmp_path / "missing") == {}


def test_the_repository_bench_directory_has_the_platform_benchmark() -> None:
    found = discover(BENCH_DIR)
    assert "platform" in found
    assert callable(load_module("platform", found["platform"]).run)


def test_load_module_refuses_a_module_without_run(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("X = 1\n")
    with pytest.raises(SystemExit, match="no `async def run"):
        load_module("broken", path)


def test_ratio_formatting() -> None:
    assert format_ratio(1, 3) == "0.33"
    assert format_ratio(250.0, 100.0) == "2.50"
    assert format_ratio(5, 0) == "n/a"
    assert ratio_line("me", "health", 727.9, 1510.9) == "me/health = 0.48"
    assert ratio_line("checkin", "bare_db", 1, 2) == "checkin/bare_db = 0.50"


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0


def test_load_result_line() -> None:
    result = LoadResult("me", 4, 1, 2.0, [1.0, 2.0, 3.0, 40.0], {200: 3, 500: 1})
    assert result.rps == 2.0
    line = result.line()
    assert line.startswith("me ")
    assert "rps=      2.0" in line and "p50=   2.00 ms" in line and "p99=  40.00 ms" in line
    assert "errors=1 {200: 3, 500: 1}" in line


async def test_run_load_counts_requests_and_statuses_against_a_loopback_server() -> None:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next((h.split(b":")[1] for h in head.split(b"\r\n")
                                   if h.lower().startswith(b"content-length")), b"0"))
                body = await reader.readexactly(length) if length else b""
                seen.append(body)
                if head.startswith(b"GET /chunked"):
                    writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
                elif head.startswith(b"GET /missing"):
                    writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    paths = ["/ok", "/chunked", "/missing"]

    def make(i: int) -> _Request:
        return _Request("POST" if i == 0 else "GET", paths[i % 3], {}, b"hi" if i == 0 else b"")

    try:
        result = await run_load("127.0.0.1", port, "t", make, requests=30, concurrency=4, time_limit=30)
    finally:
        server.close()
        await server.wait_closed()
    assert result.requests == 30
    assert result.statuses == {200: 20, 404: 10}
    assert result.errors == 10
    assert b"hi" in seen
    assert len(result.latencies_ms) == 30


async def test_run_load_refuses_anything_but_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        await run_load("10.0.0.1", 80, "x", lambda i: _Request("GET", "/", {}, b""), requests=1, concurrency=1,
                       time_limit=1)


def test_merge_adds_requests_and_time_and_keeps_every_latency() -> None:
    merged = LoadResult.merge([LoadResult("x", 2, 0, 1.0, [1.0, 2.0], {200: 2}),
                               LoadResult("x", 2, 1, 3.0, [3.0, 9.0], {200: 1, 409: 1})])
    assert (merged.requests, merged.errors, merged.seconds, merged.rps) == (4, 1, 4.0, 1.0)
    assert merged.statuses == {200: 3, 409: 1}
    assert merged.latencies_ms == [1.0, 2.0, 3.0, 9.0]


def test_merge_adds_cpu_and_the_line_shows_it_per_request() -> None:
    merged = LoadResult.merge([LoadResult("x", 100, 0, 1.0, cpu_seconds={"server": 0.05, "pg": 0.02}),
                               LoadResult("x", 100, 0, 1.0, cpu_seconds={"server": 0.07, "pg": 0.0})])
    assert merged.cpu_seconds == pytest.approx({"server": 0.12, "pg": 0.02})
    assert merged.cpu_per_request_ms() == pytest.approx({"server": 0.6, "pg": 0.1})
    assert "cpu ms/req: server=0.600 pg=0.100" in merged.line()
    assert "cpu" not in LoadResult("y", 1, 0, 1.0).line()


def test_cpu_meter_charges_the_server_tree_and_this_process() -> None:
    import subprocess
    import sys
    import time

    # A child that burns CPU stands in for the server; its CPU must land in "server", ours in "load".
    child = subprocess.Popen([sys.executable, "-c", "import time\nt=time.process_time()\n"
                              "while time.process_time()-t<0.3: pass\ntime.sleep(5)"])
    try:
        meter = CpuMeter(child.pid)
        before = meter.snapshot()
        deadline = time.process_time() + 0.2
        while time.process_time() < deadline:
            pass
        waited = time.monotonic() + 20  # the child may wait for a core on a busy machine
        spent = meter.spent(before, meter.snapshot())
        while spent["server"] < 0.2 and time.monotonic() < waited:
            time.sleep(0.1)
            spent = meter.spent(before, meter.snapshot())
    finally:
        child.kill()
        child.wait()
    assert spent["server"] >= 0.2
    assert spent["load"] >= 0.15
    assert set(spent) == {"server", "pg", "redis", "load"}
    assert all(v >= 0 for v in spent.values())
    assert CpuMeter(None).snapshot() == {}


def test_endpoint_builds_one_body_per_request_index() -> None:
    ep = Endpoint("checkin", "/api/v1/checkins", method="POST", headers={"authorization": "Bearer t"},
                  json_bodies=[{"token": "a"}, {"token": "b"}])
    first, second = ep.build(0), ep.build(1)
    assert (first.method, first.path) == ("POST", "/api/v1/checkins")
    assert first.body == b'{"token": "a"}' and second.body == b'{"token": "b"}'
    assert first.headers["content-type"] == "application/json" and first.headers["authorization"] == "Bearer t"
    assert Endpoint("h", "/health").build(5).body == b""
    custom = Endpoint("c", "/", make_request=lambda i: (f"/x/{i}", {"x-n": str(i)}, b"")).build(7)
    assert (custom.path, custom.headers["x-n"]) == ("/x/7", "7")
