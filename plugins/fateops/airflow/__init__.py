"""The only Airflow-aware layer: hook, operators, sensor, trigger and shared DAG settings.

Heavy imports stay inside functions so that parsing a DAG file (every few seconds in the dag-processor)
and loading the trigger in the triggerer stay cheap.
"""
