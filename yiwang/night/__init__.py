"""The night: extract, validate, stage, unify, gate and publish, as steps the CLI, Airflow and
bench call alike. Imports the store."""
