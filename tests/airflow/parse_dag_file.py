"""Parse one DAG file the way the DAG processor does, and report what its top level did.

Run as a script (`python parse_dag_file.py FILE`) so each DAG file is imported fresh. An audit
hook, installed after Airflow itself is imported, records any I/O the file's top-level code
does: network, database connections, subprocesses, files written. Prints JSON.
"""

import json
import sys

from airflow.dag_processing.dagbag import DagBag

FORBIDDEN = {
    "socket.connect",
    "socket.getaddrinfo",
    "sqlite3.connect",
    "subprocess.Popen",
    "os.system",
}
violations: list[str] = []


def hook(event: str, args: tuple) -> None:
    if event in FORBIDDEN:
        violations.append(f"{event} {args[:2]!r}")
    elif (
        event == "open"
        and len(args) > 1
        and isinstance(args[1], str)
        and set(args[1]) & set("wax+")
    ):
        violations.append(f"open {args[0]!r} for writing")
    elif event == "import" and args[0].split(".")[0] in (
        "psycopg",
        "great_expectations",
        "fastapi",
    ):
        violations.append(f"import {args[0]} (a database driver or a heavy library at parse time)")


sys.addaudithook(hook)
bag = DagBag(dag_folder=sys.argv[1])
sys.stdout.write(
    json.dumps(
        {
            "violations": violations,
            "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
            "dags": {
                dag_id: {
                    "tags": sorted(dag.tags),
                    "owners": sorted({t.owner for t in dag.tasks}),
                    "min_retries": min(t.retries for t in dag.tasks),
                    "tasks": len(dag.tasks),
                }
                for dag_id, dag in bag.dags.items()
            },
        }
    )
)
