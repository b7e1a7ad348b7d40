"""Airflow: the DAG factory, the task bodies, and a night run under `airflow dags test`.

An edge: reads Airflow's connections and builds the settings."""
