-- Two databases on one server: Airflow's metadata, and Yiwang's store (schemas hub, unified).
CREATE DATABASE airflow;
CREATE DATABASE yiwang;
