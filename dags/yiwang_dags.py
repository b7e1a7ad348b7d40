"""Yiwang's DAGs: `sync_<source>` per registered connector, and `publish_unified`."""

from yiwang.airflow.dags import build

globals().update(build())
