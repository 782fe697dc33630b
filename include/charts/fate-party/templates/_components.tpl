{{/*
The component table: one entry per Deployment, read by workloads.yaml, services.yaml and
persistentvolumeclaims.yaml. An entry says only what is specific to the component:

  component   app.kubernetes.io/component label (also the Deployment name)
  values      dotted path of the component's values (image, resources, replicas, persistence...)
  enabled     false drops the Deployment, its Services and its PVC (external Spark/HDFS/Pulsar)
  stateful    one replica, Recreate strategy, a `data` volume on a PVC (or emptyDir if persistence is off)
  configs     ConfigMaps mounted (each becomes a volume of the same name and feeds checksum/config)
  antiAffinity  "preferred": spread replicas over nodes
  initContainers/containers  name, values (image/resources path), command/args, ports, probePort,
              env, volumeMounts
  volumes     extra pod volumes (Secrets, emptyDirs)
  services    name, values (path of the Service settings: type, annotations, LB fields),
              enabled, ports (name, port, targetPort)
*/}}
{{- define "fate-party.mysqlSecretName" -}}
{{- .Values.mysql.existingSecret | default "mysql-auth" -}}
{{- end -}}

{{- define "fate-party.fateboardSecretName" -}}
{{- .Values.fateboard.existingSecret | default "fateboard-auth" -}}
{{- end -}}

{{- define "fate-party.componentTable" -}}
{{- $v := .Values -}}
{{- if and $v.pulsar.publicLB.enabled (not $v.pulsar.tls.enabled) (not $v.externalPulsar.enabled) -}}
{{- fail "pulsar.publicLB.enabled needs pulsar.tls.enabled: the public port 6651 is Pulsar's TLS port" -}}
{{- end -}}
python:
  component: python
  values: python
  enabled: true
  stateful: true
  configs: [fateflow-config, hadoop-config, spark-config{{ if $v.fateboard.enabled }}, fateboard-config{{ end }}]
  initContainers:
    - name: render-conf
      values: python
      command: [sh, /etc/fateops/fateflow/render-conf.sh]
      resources:
        requests: {cpu: 50m, memory: 32Mi}
        limits: {cpu: 200m, memory: 64Mi}
      env:
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: MYSQL_PASSWORD
          valueFrom: {secretKeyRef: {name: {{ include "fate-party.mysqlSecretName" . | quote }}, key: mysql-password}}
      volumeMounts:
        - {name: fateflow-config, mountPath: /etc/fateops/fateflow, readOnly: true}
        - {name: rendered-conf, mountPath: /etc/fateops/rendered}
  containers:
    - name: python
      values: python
      ports:
        - {name: http, containerPort: 9380}
        - {name: grpc, containerPort: 9360}
      probePort: http
      env:
        - {name: HADOOP_CONF_DIR, value: /etc/fateops/hadoop}
        - {name: SPARK_CONF_DIR, value: /etc/fateops/spark}
      volumeMounts:
        - {name: rendered-conf, mountPath: /data/projects/fate/fate_flow/conf/service_conf.yaml, subPath: service_conf.yaml}
        - {name: fateflow-config, mountPath: /data/projects/fate/fate_flow/conf/pulsar_route_table.yaml, subPath: pulsar_route_table.yaml}
        - {name: hadoop-config, mountPath: /etc/fateops/hadoop, readOnly: true}
        - {name: spark-config, mountPath: /etc/fateops/spark, readOnly: true}
        - {name: data, mountPath: /data/projects/fate/fate_flow/logs, subPath: logs}
        - {name: data, mountPath: /data/projects/fate/fate_flow/jobs, subPath: jobs}
        - {name: data, mountPath: /data/projects/fate/fate_flow/model, subPath: model}
        - {name: data, mountPath: /data/projects/fate/fate_flow/data, subPath: data}
    {{- if $v.fateboard.enabled }}
    - name: fateboard
      values: fateboard
      ports:
        - {name: board, containerPort: 8080}
      probePort: board
      env:
        - name: SERVER_BOARD_LOGIN_PASSWORD
          valueFrom: {secretKeyRef: {name: {{ include "fate-party.fateboardSecretName" . | quote }}, key: password}}
      volumeMounts:
        - {name: fateboard-config, mountPath: /data/projects/fate/fateboard/conf/application.properties, subPath: application.properties}
        - {name: data, mountPath: /data/projects/fate/fate_flow/logs, subPath: logs, readOnly: true}
    {{- end }}
  volumes:
    - name: rendered-conf
      emptyDir: {medium: Memory, sizeLimit: 1Mi}
  services:
    - name: fateflow
      values: python.service
      ports:
        - {name: http, port: 9380, targetPort: http}
        - {name: grpc, port: 9360, targetPort: grpc}
    - name: fateboard
      values: fateboard.service
      enabled: {{ $v.fateboard.enabled }}
      ports:
        - {name: http, port: 8080, targetPort: board}
client:
  component: client
  values: client
  enabled: {{ $v.client.enabled }}
  stateful: false
  configs: []
  containers:
    - name: client
      values: client
      ports:
        - {name: notebook, containerPort: 20000}
      probePort: notebook
      env:
        - {name: FATE_FLOW_IP, value: fateflow}
        - {name: FATE_FLOW_PORT, value: "9380"}
      volumeMounts:
        - {name: data, mountPath: /data/projects/fate/persistence}
  services:
    - name: notebook
      values: client.service
      ports:
        - {name: notebook, port: 20000, targetPort: notebook}
mysql:
  component: mysql
  values: mysql
  enabled: true
  stateful: true
  configs: []
  containers:
    - name: mysql
      values: mysql
      args: [--default-authentication-plugin=mysql_native_password]
      ports:
        - {name: mysql, containerPort: 3306}
      probePort: mysql
      env:
        - {name: MYSQL_DATABASE, value: {{ $v.mysql.database | quote }}}
        - {name: MYSQL_USER, value: {{ $v.mysql.user | quote }}}
        - name: MYSQL_PASSWORD
          valueFrom: {secretKeyRef: {name: {{ include "fate-party.mysqlSecretName" . | quote }}, key: mysql-password}}
        - name: MYSQL_ROOT_PASSWORD
          valueFrom: {secretKeyRef: {name: {{ include "fate-party.mysqlSecretName" . | quote }}, key: mysql-root-password}}
      volumeMounts:
        - {name: data, mountPath: /var/lib/mysql}
  services:
    - name: mysql
      values: mysql.service
      ports:
        - {name: mysql, port: 3306, targetPort: mysql}
nginx:
  component: nginx
  values: nginx
  enabled: true
  stateful: false
  antiAffinity: preferred
  configs: [nginx-route-table]
  containers:
    - name: nginx
      values: nginx
      ports:
        - {name: http, containerPort: 9300}
        - {name: grpc, containerPort: 9310}
      probePort: http
      volumeMounts:
        - {name: nginx-route-table, mountPath: {{ $v.nginx.routeTablePath | quote }}, subPath: route_table.yaml}
  services:
    - name: nginx
      values: nginx.service
      ports:
        - {name: http, port: 9300, targetPort: http}
        - {name: grpc, port: 9310, targetPort: grpc}
pulsar:
  component: pulsar
  values: pulsar
  enabled: {{ not $v.externalPulsar.enabled }}
  stateful: true
  configs: [pulsar-config]
  containers:
    - name: pulsar
      values: pulsar
      command: [/pulsar/bin/pulsar]
      args: [standalone, --no-functions-worker, --no-stream-storage]
      ports:
        - {name: pulsar, containerPort: 6650}
        {{- if $v.pulsar.tls.enabled }}
        - {name: pulsar-tls, containerPort: 6651}
        {{- end }}
        - {name: http, containerPort: 8080}
      probePort: pulsar
      env:
        - {name: PULSAR_MEM, value: {{ $v.pulsar.memOpts | quote }}}
      volumeMounts:
        - {name: pulsar-config, mountPath: /pulsar/conf/standalone.conf, subPath: standalone.conf}
        - {name: data, mountPath: /pulsar/data}
        {{- if $v.pulsar.tls.enabled }}
        - {name: pulsar-cert, mountPath: /pulsar/certs, readOnly: true}
        {{- end }}
  {{- if $v.pulsar.tls.enabled }}
  volumes:
    - name: pulsar-cert
      secret: {secretName: {{ $v.pulsar.tls.secretName | quote }}, defaultMode: 288}  # 0440
  {{- end }}
  services:
    - name: pulsar
      values: pulsar.service
      ports:
        - {name: pulsar, port: 6650, targetPort: pulsar}
        {{- if $v.pulsar.tls.enabled }}
        - {name: pulsar-tls, port: 6651, targetPort: pulsar-tls}
        {{- end }}
        - {name: http, port: 8080, targetPort: http}
    - name: pulsar-public-tls
      values: pulsar.publicLB
      enabled: {{ $v.pulsar.publicLB.enabled }}
      ports:
        - {name: pulsar-tls, port: 6651, targetPort: pulsar-tls}
spark-master:
  component: spark-master
  values: spark.master
  enabled: {{ not $v.externalSpark.enabled }}
  stateful: false
  configs: [spark-config, hadoop-config]
  containers:
    - name: spark-master
      values: spark.master
      ports:
        - {name: spark, containerPort: 7077}
        - {name: http, containerPort: 8080}
      probePort: spark
      env:
        - {name: SPARK_CONF_DIR, value: /etc/fateops/spark}
        - {name: HADOOP_CONF_DIR, value: /etc/fateops/hadoop}
      volumeMounts:
        - {name: spark-config, mountPath: /etc/fateops/spark, readOnly: true}
        - {name: hadoop-config, mountPath: /etc/fateops/hadoop, readOnly: true}
  services:
    - name: spark-master
      values: spark.master.service
      ports:
        - {name: spark, port: 7077, targetPort: spark}
        - {name: http, port: 8080, targetPort: http}
spark-worker:
  component: spark-worker
  values: spark.worker
  enabled: {{ not $v.externalSpark.enabled }}
  stateful: false
  antiAffinity: preferred
  configs: [spark-config, hadoop-config]
  containers:
    - name: spark-worker
      values: spark.worker
      ports:
        - {name: http, containerPort: 8081}
      probePort: http
      env:
        - {name: SPARK_MASTER, value: {{ include "fate-party.sparkMaster" . | quote }}}
        - {name: SPARK_WORKER_CORES, value: {{ $v.spark.worker.cores | int | toString | quote }}}
        - {name: SPARK_WORKER_MEMORY, value: {{ $v.spark.worker.memory | quote }}}
        - {name: SPARK_CONF_DIR, value: /etc/fateops/spark}
        - {name: HADOOP_CONF_DIR, value: /etc/fateops/hadoop}
      volumeMounts:
        - {name: spark-config, mountPath: /etc/fateops/spark, readOnly: true}
        - {name: hadoop-config, mountPath: /etc/fateops/hadoop, readOnly: true}
  services: []
namenode:
  component: namenode
  values: hdfs.namenode
  enabled: {{ not $v.externalHdfs.enabled }}
  stateful: true
  configs: [hadoop-config]
  containers:
    - name: namenode
      values: hdfs.namenode
      ports:
        - {name: rpc, containerPort: 9000}
        - {name: http, containerPort: 9870}
      probePort: rpc
      env:
        - {name: CLUSTER_NAME, value: {{ printf "fate-%s" (include "fate-party.partyId" .) | quote }}}
        - {name: HADOOP_CONF_DIR, value: /etc/fateops/hadoop}
      volumeMounts:
        - {name: hadoop-config, mountPath: /etc/fateops/hadoop, readOnly: true}
        - {name: data, mountPath: /hadoop/dfs/name}
  services:
    - name: namenode
      values: hdfs.namenode.service
      ports:
        - {name: rpc, port: 9000, targetPort: rpc}
        - {name: http, port: 9870, targetPort: http}
datanode:
  component: datanode
  values: hdfs.datanode
  enabled: {{ not $v.externalHdfs.enabled }}
  stateful: true
  configs: [hadoop-config]
  containers:
    - name: datanode
      values: hdfs.datanode
      ports:
        - {name: http, containerPort: 9864}
        - {name: data, containerPort: 9866}
        - {name: ipc, containerPort: 9867}
      probePort: data
      env:
        - {name: HADOOP_CONF_DIR, value: /etc/fateops/hadoop}
      volumeMounts:
        - {name: hadoop-config, mountPath: /etc/fateops/hadoop, readOnly: true}
        - {name: data, mountPath: /hadoop/dfs/data}
  services:
    - name: datanode
      values: hdfs.datanode.service
      ports:
        - {name: http, port: 9864, targetPort: http}
        - {name: data, port: 9866, targetPort: data}
        - {name: ipc, port: 9867, targetPort: ipc}
{{- end -}}

{{/* Parse the table and attach each entry's resolved values (.v) and, per container, .cv.
Arg: dict root, out; sets out.table. */}}
{{- define "fate-party.loadComponents" -}}
{{- $root := .root -}}
{{- $table := include "fate-party.componentTable" $root | fromYaml -}}
{{- if hasKey $table "Error" -}}
{{- fail (printf "internal: the component table is not valid YAML: %s" $table.Error) -}}
{{- end -}}
{{- range $name, $c := $table -}}
{{- $_ := set $c "name" $name -}}
{{- include "fate-party.valuesAt" (dict "root" $root "path" $c.values "out" $c) -}}
{{- range concat (get $c "initContainers" | default list) $c.containers -}}
{{- $cv := dict -}}
{{- include "fate-party.valuesAt" (dict "root" $root "path" .values "out" $cv) -}}
{{- $_ := set . "cv" $cv.v -}}
{{- end -}}
{{- range $c.services -}}
{{- $sv := dict -}}
{{- include "fate-party.valuesAt" (dict "root" $root "path" .values "out" $sv) -}}
{{- $_ := set . "sv" $sv.v -}}
{{- end -}}
{{- end -}}
{{- $_ := set .out "table" $table -}}
{{- end -}}
