"""Kubernetes/Tanzu backend domain code (no Airflow): charts, helm, namespaces, certificates, waits.

``chart_contract`` holds the names our Helm charts promise (Services, labels, ConfigMaps, values
keys) and builds release values from plain inputs.
"""
