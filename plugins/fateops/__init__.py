"""fateops: operate FATE federated learning (the KubeFATE way) from Apache Airflow.

Domain packages (``fate``, ``engine``, ``data``, ``k8s``, ``vsphere``, ``chaos``) never import
Airflow; ``fateops.airflow`` is the only Airflow-aware layer and the DAGs in ``dags/`` only wire it.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
