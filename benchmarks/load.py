"""Benchmark: one server process under concurrent readers — throughput, latency, memory.

    .venv/bin/python benchmarks/load.py                          # both engines, 16 clients, 30 s
    .venv/bin/python benchmarks/load.py --engines sqlite --clients 8 --seconds 10 --scale 0.2

For each engine: a fresh database with the synthetic province-scale dataset
(``chaintrack generate``), then **one uvicorn worker in a process of its own** (so that its
memory is the server's alone) and ``--clients`` threads, each on a kept-alive connection,
calling in turn the chain report (a random chain), the province dashboard, an enterprise
search and a project list until ``--seconds`` have passed. Reports requests per second,
p50 / p99 per endpoint, errors, and the server's resident memory: idle after start, peak
during the run (VmHWM) and after the run.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_PG, KeepAliveClient, free_port, fresh_database, prepare

from chaintrack.auth.bench import admin_token
from chaintrack.config import Settings
from chaintrack.seeding.synthetic import generate, latest_complete_month

ROOT = Path(__file__).resolve().parent.parent


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_engine(name: str, args: argparse.Namespace) -> dict[str, Any]:
    with fresh_database(name, args.pg_url) as url:
        engine = prepare(url)
        with engine.begin() as conn:
            generate(conn, seed=args.seed, scale=args.scale, end_period=args.period)
        with engine.connect() as conn:
            chains = [r[0] for r in conn.execute(text("SELECT id FROM chains ORDER BY id"))]
        key = secrets.token_urlsafe(48)
        settings = Settings(database_url=url, env="development", secret_key=key)
        token = admin_token(engine, settings)
        engine.dispose()

        port = free_port()
        env = {
            **os.environ,
            "CHAINTRACK_DATABASE_URL": url,
            "CHAINTRACK_ENV": "development",
            "CHAINTRACK_SECRET_KEY": key,
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "chaintrack.api:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, server)
            idle_mb = _status_kb(server.pid, "VmRSS") / 1024
            results = _load(base, token, chains, args)
            peak_mb = _status_kb(server.pid, "VmHWM") / 1024
            after_mb = _status_kb(server.pid, "VmRSS") / 1024
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {"engine": name, "idle": idle_mb, "peak": peak_mb, "after": after_mb, **results}


def _load(base: str, token: str, chains: list[int], args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    period = {"period": args.period}
    endpoints: list[tuple[str, Any]] = [
        ("chain report", lambda rnd: (f"/api/v1/reports/chains/{rnd.choice(chains)}", period)),
        ("dashboard", lambda rnd: ("/api/v1/reports/dashboard", period)),
        (
            "enterprise search",
            lambda rnd: ("/api/v1/enterprises", {"q": rnd.choice("科技材料装备化工新能源")}),
        ),
        ("project list", lambda rnd: ("/api/v1/projects", {"page": str(rnd.randint(1, 20))})),
    ]
    samples: dict[str, list[float]] = {label: [] for label, _ in endpoints}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def client(n: int) -> None:
        rnd = random.Random(n)
        mine: dict[str, list[float]] = {label: [] for label, _ in endpoints}
        with KeepAliveClient(base, headers) as http:
            i = n
            while time.monotonic() < stop_at:
                label, build = endpoints[i % len(endpoints)]
                i += 1
                path, params = build(rnd)
                started = time.perf_counter()
                try:
                    http.get(path, params)
                except Exception as exc:  # counted and shown, not raised
                    with lock:
                        errors.append(f"{label}: {exc}"[:200])
                    continue
                mine[label].append((time.perf_counter() - started) * 1000)
        with lock:
            for label, values in mine.items():
                samples[label] += values

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    total = sum(len(v) for v in samples.values())
    per_endpoint = {
        label: (
            len(v),
            statistics.median(v) if v else float("nan"),
            _percentile(v, 0.99) if v else float("nan"),
        )
        for label, v in samples.items()
    }
    return {"rps": total / elapsed, "endpoints": per_endpoint, "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--period", default=latest_complete_month())
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a server database to create in")
    args = parser.parse_args()
    runs = [run_engine(name.strip(), args) for name in args.engines.split(",")]
    print(
        f"\n{args.clients} clients, {args.seconds:.0f} s, scale {args.scale}, period "
        f"{args.period} (latencies in ms; memory of the one server process in MB)"
    )
    for r in runs:
        print(
            f"\n[{r['engine']}] {r['rps']:.1f} requests/s, {len(r['errors'])} errors; "
            f"RSS idle {r['idle']:.0f}, peak {r['peak']:.0f}, after {r['after']:.0f}"
        )
        print(f"  {'endpoint':<20}{'calls':>7}{'p50':>9}{'p99':>9}")
        for label, (n, p50, p99) in r["endpoints"].items():
            print(f"  {label:<20}{n:>7}{p50:>9.1f}{p99:>9.1f}")
        for line in r["errors"][:5]:
            print("  error:", line)
    return 1 if any(r["errors"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
