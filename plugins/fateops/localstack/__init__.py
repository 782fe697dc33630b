"""The laptop stack: Airflow 3's components on 127.0.0.1 beside the local FATE engine (`make demo`)."""

from fateops.localstack.airflow import AirflowStack
from fateops.localstack.rest import AirflowRestClient

__all__ = ["AirflowRestClient", "AirflowStack"]
