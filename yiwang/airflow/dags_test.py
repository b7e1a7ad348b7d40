"""`airflow dags test` of several DAGs one after another in one process: what
`yiwang.airflow.local.dags_test_night` runs for a night.

Each DAG is run by the `dags test` command itself (Airflow's own CLI parser and function), its
output (Airflow's and its tasks' logs) written to a file of its own. One process rather than
one per DAG: Airflow and the hub are imported, and the DAG folder parsed, once a night instead
of seven times (`yiwang airflow-night` of the `small` world: 92 s as seven processes, 45 s as
one). The DAGs
after `--then` run only when every DAG before it ended in success. It prints `start <dag_id>`
as each begins; the caller judges each run by its DagRun in the metadata database.

    python -m yiwang.airflow.dags_test LOGICAL_DATE LOG_DIR DAG_ID… [--then DAG_ID…]
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path


def dags_test(dag_id: str, logical_date: str, log: Path) -> bool:
    """`airflow dags test DAG_ID LOGICAL_DATE`, what it prints going to `log`: whether it
    ended without the command's own failure (`DagRun failed`, a DAG that did not load)."""
    from airflow.cli.cli_parser import get_parser

    sys.stdout.flush()
    sys.stderr.flush()
    kept = os.dup(1), os.dup(2)
    with log.open("wb") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            args = get_parser().parse_args(["dags", "test", dag_id, logical_date])
            args.func(args)
            return True
        except SystemExit as ended:
            print(f"airflow dags test {dag_id}: {ended}", file=sys.stderr)
            return False
        except Exception:
            traceback.print_exc()
            return False
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, saved in zip((1, 2), kept, strict=True):
                os.dup2(saved, fd)
                os.close(saved)


def main(argv: list[str]) -> None:
    logical_date, logs, *dag_ids = argv
    cut = dag_ids.index("--then") if "--then" in dag_ids else len(dag_ids)
    for group in (dag_ids[:cut], dag_ids[cut + 1 :]):
        ok = True
        for dag_id in group:
            print(f"start {dag_id}", flush=True)
            ok = dags_test(dag_id, logical_date, Path(logs) / f"{dag_id}.log") and ok
        if not ok:
            break


if __name__ == "__main__":
    main(sys.argv[1:])
