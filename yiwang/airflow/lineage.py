"""OpenLineage for the TaskFlow tasks, through the Airflow provider: a task built with
`lineage_task` returns, beside its counts, a `lineage` entry (what it read, what it wrote and
how many rows), which becomes the inputs and outputs of its OpenLineage COMPLETE event.

The provider's listener asks the task that ran (`ti.task`, the object `execute` ran on) for
`get_openlineage_facets_on_complete`; a plain `@task` has none, so its events name no
datasets. The lineage is taken off the return value before it reaches XCom. Events go where
`[openlineage] transport` says (nothing is emitted until one is configured).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
from airflow.sdk.bases.decorator import task_decorator_factory
from sqlalchemy.engine import make_url

Lineage = dict[str, list[list]]  # {"inputs": [[namespace, name]], "outputs": [[ns, name, rows]]}


class _LineageOperator(_PythonDecoratedOperator):
    custom_operator_name = "@lineage_task"

    def execute(self, context):
        result = super().execute(context)
        self._lineage = result.pop("lineage", None) if isinstance(result, dict) else None
        return result

    def get_openlineage_facets_on_complete(self, task_instance):
        return operator_lineage(getattr(self, "_lineage", None))

    def get_openlineage_facets_on_failure(self, task_instance):
        return operator_lineage(None)  # a failed task wrote nothing it can vouch for


def lineage_task(python_callable=None, **kwargs):
    """`@task`, whose OpenLineage events name the datasets its return value's `lineage` lists."""
    return task_decorator_factory(
        python_callable=python_callable, decorated_operator_class=_LineageOperator, **kwargs
    )


def operator_lineage(lineage: Lineage | None):
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import output_statistics_output_dataset as statistics

    lineage = lineage or {}
    inputs = [InputDataset(namespace=ns, name=name) for ns, name in lineage.get("inputs", [])]
    outputs = [
        OutputDataset(
            namespace=ns,
            name=name,
            outputFacets={
                "outputStatistics": statistics.OutputStatisticsOutputDatasetFacet(rowCount=rows)
            },
        )
        for ns, name, rows in lineage.get("outputs", [])
    ]
    return OperatorLineage(inputs=inputs, outputs=outputs)


def store_dataset(store_url: str, table: str) -> tuple[str, str]:
    """(namespace, name) of a store table by OpenLineage's naming: `postgres://host:port` and
    `database.schema.table`, or `sqlite://` and the file's path with the table."""
    url = make_url(store_url)
    if url.get_backend_name() == "postgresql":
        return f"postgres://{url.host or 'localhost'}:{url.port or 5432}", f"{url.database}.{table}"
    return "sqlite://", f"{url.database}.{table}"


def lineage(inputs: list[tuple[str, str]], outputs: list[tuple[str, str, int]]) -> dict[str, Any]:
    return {"inputs": [list(i) for i in inputs], "outputs": [list(o) for o in outputs]}
