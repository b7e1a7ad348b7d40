"""Every registered department's simulator at once, on ephemeral loopback ports."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from connectors.core.connection import env_var
from departments.registry import all_departments, extend_world
from simulators.servers.base import SimServer
from simulators.servers.faults import FaultPlan
from simulators.world import World


def credential(seed: int, system: str, what: str) -> str:
    """Distinctive, reproducible demo credentials (never real ones)."""
    return (
        f"{system}-{what}-"
        + hashlib.sha256(f"yiwang/{seed}/{system}/{what}".encode()).hexdigest()[:20]
    )


@dataclass
class Cluster:
    world: World
    as_of: dt.date
    fault_rate: float = 0.0
    fault_seed: int = 0
    base_path: str = ""
    port: int = 0  # first port; 0 picks free ephemeral ports
    options: dict[str, dict] = field(default_factory=dict)  # per-system server options
    # False: the request limits of every department whose contract has one are lifted (its
    # server takes `rate_per_s`, 0 meaning none), for tests and benchmarks about other things
    rate_limits: bool = True
    host: str = "127.0.0.1"  # where the servers listen (0.0.0.0 inside a container)
    advertise: str | None = None  # the host the connections name, when not `host`
    servers: dict[str, SimServer] = field(default_factory=dict)

    def start(self) -> Cluster:
        seed = self.world.seed
        common = {"base_path": self.base_path}

        def plan(i: int) -> FaultPlan:
            return FaultPlan(rate=self.fault_rate, seed=self.fault_seed * 10 + i)

        def port(i: int) -> int:
            return self.port + i if self.port else 0

        extend_world(self.world)
        simulated = [(n, d.simulator) for n, d in all_departments().items() if d.simulator]
        self.servers = {
            system: sim.server(
                self.world,
                self.as_of,
                *(credential(seed, system, what) for what in sim.credentials),
                faults=plan(i),
                port=port(i),
                host=self.host,
                **common,
                **self._lifted(system),
                **self.options.get(system, {}),
            )
            for i, (system, sim) in enumerate(simulated)
        }
        for server in self.servers.values():
            server.start()
        return self

    def _lifted(self, system: str) -> dict:
        limited = all_departments()[system].connector.rate_per_s
        return {"rate_per_s": 0} if limited and not self.rate_limits else {}

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def connections(self) -> dict[str, dict]:
        """The Airflow Connections (JSON form, by connection id) that reach the systems: what
        `airflow connections import` reads."""
        named = {"host": self.advertise} if self.advertise else {}
        conn_ids = {n: d.connector.conn_id for n, d in all_departments().items()}
        return {conn_ids[s]: srv.connection() | named for s, srv in self.servers.items()}

    def environment(self) -> dict[str, str]:
        """`AIRFLOW_CONN_*` variables (Airflow's JSON form) that reach the systems."""
        return {
            env_var(conn_id): json.dumps(conn, ensure_ascii=False)
            for conn_id, conn in self.connections().items()
        }
