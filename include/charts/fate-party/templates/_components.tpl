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

{{/* Paths inside the images (include/charts/image-facts.yaml says where each comes from). */}}
{{- define "fate-party.paths" -}}
fateflowHome: /data/projects/fate/fate_flow
nginxPrefix: /data/projects/fate/proxy/nginx
clientSettings: /data/projects/fate/fate_client/python/fate_client/settings.yaml
hadoopLogs: /opt/hadoop-3.2.1/logs
home: /home/fate
{{- end -}}

{{/* An init container that writes a copy of the image's /etc/passwd plus an entry for the pod's uid
(user `fate`): a JVM under a uid without one cannot name its user (Hadoop's login fails with
"invalid null input: name"). The main container mounts the copy over /etc/passwd.
Arg: values path of the component's image. */}}
{{- define "fate-party.passwdInit" -}}
- name: passwd
  values: {{ . }}
  command: [/bin/sh, -c, 'cp /etc/passwd /fateops/passwd/passwd && echo "fate:x:$(id -u):$(id -g):fate:/home/fate:/bin/sh" >> /fateops/passwd/passwd']
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {cpu: 100m, memory: 32Mi}
  volumeMounts:
    - {name: passwd, mountPath: /fateops/passwd}
{{- end -}}

{{/* What every JVM container of the chart gets: the passwd copy, a writable HOME and the user name
Spark and Hadoop report. */}}
{{- define "fate-party.jvmEnv" -}}
- {name: HOME, value: /home/fate}
- {name: SPARK_USER, value: fate}
- {name: HADOOP_USER_NAME, value: fate}
{{- end -}}
{{- define "fate-party.jvmMounts" -}}
- {name: passwd, mountPath: /etc/passwd, subPath: passwd, readOnly: true}
- {name: scratch, mountPath: /home/fate, subPath: home}
{{- end -}}
{{- define "fate-party.jvmVolumes" -}}
- name: passwd
  emptyDir: {medium: Memory, sizeLimit: 1Mi}
- name: scratch
  emptyDir: {sizeLimit: 2Gi}
{{- end -}}

{{/* nginx (openresty) as a non-root uid: FATE's nginx.conf logs to <prefix>/logs and nginx creates
its temp directories in the prefix at start — each one a writable emptyDir subdirectory.
Arg: the nginx prefix. */}}
{{- define "fate-party.nginxWritable" -}}
{{- $prefix := . -}}
{{- range list "logs" "client_body_temp" "proxy_temp" "fastcgi_temp" "uwsgi_temp" "scgi_temp" }}
- {name: scratch, mountPath: {{ printf "%s/%s" $prefix . }}, subPath: {{ . }}}
{{- end }}
{{- end -}}

{{- define "fate-party.componentTable" -}}
{{- $v := .Values -}}
{{- $p := include "fate-party.paths" . | fromYaml -}}
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
    {{- include "fate-party.passwdInit" "python" | nindent 4 }}
    - name: wait-for-mysql
      values: mysql
      # FATE Flow exits when its database is not there yet; wait for MySQL to answer first.
      command: [/bin/sh, -c, 'for i in $(seq 1 150); do mysqladmin ping -h mysql -P 3306 -u "$MYSQL_USER" --silent && exit 0; sleep 2; done; echo "mysql did not answer in 300 s" >&2; exit 1']
      resources:
        requests: {cpu: 10m, memory: 32Mi}
        limits: {cpu: 100m, memory: 64Mi}
      env:
        - {name: MYSQL_USER, value: {{ $v.mysql.user | quote }}}
        - name: MYSQL_PWD
          valueFrom: {secretKeyRef: {name: {{ include "fate-party.mysqlSecretName" . | quote }}, key: mysql-password}}
    - name: render-conf
      values: python
      command: [/bin/sh, /etc/fateops/fateflow/render-conf.sh]
      resources:
        requests: {cpu: 50m, memory: 32Mi}
        limits: {cpu: 200m, memory: 64Mi}
      env:
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: MYSQL_PASSWORD
          valueFrom: {secretKeyRef: {name: {{ include "fate-party.mysqlSecretName" . | quote }}, key: mysql-password}}
        {{- if $v.fateboard.enabled }}
        - name: BOARD_PASSWORD
          valueFrom: {secretKeyRef: {name: {{ include "fate-party.fateboardSecretName" . | quote }}, key: password}}
        {{- end }}
      volumeMounts:
        - {name: fateflow-config, mountPath: /etc/fateops/fateflow, readOnly: true}
        {{- if $v.fateboard.enabled }}
        - {name: fateboard-config, mountPath: /etc/fateops/fateboard, readOnly: true}
        {{- end }}
        - {name: rendered-conf, mountPath: /etc/fateops/rendered}
  containers:
    - name: python
      values: python
      # The image's CMD names fateflow/, the 2.0 image unpacks FATE Flow to fate_flow/.
      command: [python, fate_flow/python/fate_flow/fate_flow_server.py]
      workingDir: /data/projects/fate
      ports:
        - {name: http, containerPort: 9380}
        - {name: grpc, containerPort: 9360}
      probePort: http
      env:
        - {name: FATE_PROJECT_BASE, value: /data/projects/fate}
        # Spark executors connect back to the driver (FATE's task processes here) by the name it
        # advertises: the pod IP, since a pod's host name resolves nowhere else (KubeFATE sets
        # spark.driver.host to the pod IP for the same reason).
        - name: SPARK_LOCAL_HOSTNAME
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - {name: HADOOP_CONF_DIR, value: /etc/fateops/hadoop}
        - {name: SPARK_CONF_DIR, value: /etc/fateops/spark}
        {{- include "fate-party.jvmEnv" . | nindent 8 }}
      volumeMounts:
        - {name: rendered-conf, mountPath: {{ printf "%s/conf/service_conf.yaml" $p.fateflowHome }}, subPath: service_conf.yaml}
        - {name: fateflow-config, mountPath: {{ printf "%s/conf/pulsar_route_table.yaml" $p.fateflowHome }}, subPath: pulsar_route_table.yaml}
        - {name: hadoop-config, mountPath: /etc/fateops/hadoop, readOnly: true}
        - {name: spark-config, mountPath: /etc/fateops/spark, readOnly: true}
        {{- range list "logs" "jobs" "model" "data" "localfs" }}
        - {name: data, mountPath: {{ printf "%s/%s" $p.fateflowHome . }}, subPath: {{ . }}}
        {{- end }}
        - {name: scratch, mountPath: {{ printf "%s/temps" $p.fateflowHome }}, subPath: temps}
        {{- include "fate-party.jvmMounts" . | nindent 8 }}
    {{- if $v.fateboard.enabled }}
    - name: fateboard
      values: fateboard
      # The image's CMD reserves -Xms2048m; the heap is a value here so it fits the container limit.
      command: [java, {{ printf "-Dspring.config.location=/data/projects/fate/fateboard/conf/application.properties" | quote }}, {{ printf "-Xms%s" $v.fateboard.javaHeap | quote }}, {{ printf "-Xmx%s" $v.fateboard.javaHeap | quote }}, -XX:+HeapDumpOnOutOfMemoryError, "-XX:HeapDumpPath=/tmp", -jar, fateboard.jar]
      workingDir: /data/projects/fate/fateboard
      ports:
        - {name: board, containerPort: 8080}
      probePort: board
      volumeMounts:
        - {name: rendered-conf, mountPath: /data/projects/fate/fateboard/conf/application.properties, subPath: application.properties, readOnly: true}
        - {name: scratch, mountPath: /data/projects/fate/fateboard/logs, subPath: fateboard-logs}
        - {name: data, mountPath: {{ printf "%s/logs" $p.fateflowHome }}, subPath: logs, readOnly: true}
    {{- end }}
  volumes:
    - name: rendered-conf
      emptyDir: {medium: Memory, sizeLimit: 1Mi}
    {{- include "fate-party.jvmVolumes" . | nindent 4 }}
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
  initContainers:
    # `pipeline init` and `flow init` rewrite fate_client/settings.yaml inside the root-owned package:
    # give the non-root container a writable copy of that one file.
    - name: client-settings
      values: client
      command: [/bin/sh, -c, {{ printf "cp %s /fateops/client/settings.yaml" $p.clientSettings | quote }}]
      resources:
        requests: {cpu: 10m, memory: 16Mi}
        limits: {cpu: 100m, memory: 32Mi}
      volumeMounts:
        - {name: scratch, mountPath: /fateops/client, subPath: client}
  containers:
    - name: client
      values: client
      ports:
        - {name: notebook, containerPort: 20000}
      probePort: notebook
      env:
        - {name: FATE_FLOW_IP, value: fateflow}
        - {name: FATE_FLOW_PORT, value: "9380"}
        - {name: HOME, value: /home/fate}
      volumeMounts:
        - {name: data, mountPath: /data/projects/fate/persistence}
        - {name: scratch, mountPath: {{ $p.clientSettings }}, subPath: client/settings.yaml}
        - {name: scratch, mountPath: /home/fate, subPath: home}
  volumes:
    - name: scratch
      emptyDir: {sizeLimit: 1Gi}
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
        # A subdirectory, not the volume root: `mysqld --initialize` refuses a data dir holding lost+found.
        - {name: data, mountPath: /var/lib/mysql, subPath: mysql}
        - {name: scratch, mountPath: /var/run/mysqld, subPath: run}
  volumes:
    - name: scratch
      emptyDir: {medium: Memory, sizeLimit: 1Mi}
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
  configs: [nginx-route-table, nginx-config]
  containers:
    - name: nginx
      values: nginx
      ports:
        - {name: http, containerPort: 9300}
        - {name: grpc, containerPort: 9310}
      probePort: http
      volumeMounts:
        - {name: nginx-route-table, mountPath: {{ $v.nginx.routeTablePath | quote }}, subPath: route_table.yaml}
        - {name: nginx-config, mountPath: {{ printf "%s/conf/vhost/fateops-unknown-party.conf" $p.nginxPrefix }}, subPath: fateops-unknown-party.conf}
        {{- include "fate-party.nginxWritable" $p.nginxPrefix | nindent 8 }}
  volumes:
    - name: scratch
      emptyDir: {sizeLimit: 1Gi}
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
      workingDir: /pulsar
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
  initContainers:
    {{- include "fate-party.passwdInit" "spark.master" | nindent 4 }}
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
        {{- include "fate-party.jvmEnv" . | nindent 8 }}
      volumeMounts:
        - {name: spark-config, mountPath: /etc/fateops/spark, readOnly: true}
        - {name: hadoop-config, mountPath: /etc/fateops/hadoop, readOnly: true}
        - {name: scratch, mountPath: /spark/logs, subPath: logs}
        {{- include "fate-party.jvmMounts" . | nindent 8 }}
  volumes:
    {{- include "fate-party.jvmVolumes" . | nindent 4 }}
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
  initContainers:
    {{- include "fate-party.passwdInit" "spark.worker" | nindent 4 }}
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
        {{- include "fate-party.jvmEnv" . | nindent 8 }}
      volumeMounts:
        - {name: spark-config, mountPath: /etc/fateops/spark, readOnly: true}
        - {name: hadoop-config, mountPath: /etc/fateops/hadoop, readOnly: true}
        - {name: scratch, mountPath: /spark/logs, subPath: logs}
        - {name: scratch, mountPath: /spark/work, subPath: work}
        {{- include "fate-party.jvmMounts" . | nindent 8 }}
  volumes:
    {{- include "fate-party.jvmVolumes" . | nindent 4 }}
  services: []
namenode:
  component: namenode
  values: hdfs.namenode
  enabled: {{ not $v.externalHdfs.enabled }}
  stateful: true
  configs: [hadoop-config]
  initContainers:
    {{- include "fate-party.passwdInit" "hdfs.namenode" | nindent 4 }}
  containers:
    - name: namenode
      values: hdfs.namenode
      # Not the image's entrypoint (it rewrites the root-owned /etc/hadoop from env): our hdfs-site.xml
      # and core-site.xml are complete. Format once, when the name dir holds no image yet.
      command: [/bin/bash, -c, {{ printf "[ -f /hadoop/dfs/name/current/VERSION ] || hdfs --config \"$HADOOP_CONF_DIR\" namenode -format -nonInteractive -clusterid fate-%s; exec hdfs --config \"$HADOOP_CONF_DIR\" namenode" (include "fate-party.partyId" .) | quote }}]
      ports:
        - {name: rpc, containerPort: 9000}
        - {name: http, containerPort: 9870}
      probePort: rpc
      env:
        - {name: HADOOP_CONF_DIR, value: /etc/fateops/hadoop}
        - {name: HADOOP_LOG_DIR, value: {{ $p.hadoopLogs }}}
        {{- include "fate-party.jvmEnv" . | nindent 8 }}
      volumeMounts:
        - {name: hadoop-config, mountPath: /etc/fateops/hadoop, readOnly: true}
        # A subdirectory, not the volume root (lost+found would make the dir look formatted).
        - {name: data, mountPath: /hadoop/dfs/name, subPath: name}
        - {name: scratch, mountPath: {{ $p.hadoopLogs }}, subPath: logs}
        {{- include "fate-party.jvmMounts" . | nindent 8 }}
  volumes:
    {{- include "fate-party.jvmVolumes" . | nindent 4 }}
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
  initContainers:
    {{- include "fate-party.passwdInit" "hdfs.datanode" | nindent 4 }}
  containers:
    - name: datanode
      values: hdfs.datanode
      command: [/bin/bash, -c, 'exec hdfs --config "$HADOOP_CONF_DIR" datanode']
      ports:
        - {name: http, containerPort: 9864}
        - {name: data, containerPort: 9866}
        - {name: ipc, containerPort: 9867}
      probePort: data
      env:
        - {name: HADOOP_CONF_DIR, value: /etc/fateops/hadoop}
        - {name: HADOOP_LOG_DIR, value: {{ $p.hadoopLogs }}}
        {{- include "fate-party.jvmEnv" . | nindent 8 }}
      volumeMounts:
        - {name: hadoop-config, mountPath: /etc/fateops/hadoop, readOnly: true}
        - {name: data, mountPath: /hadoop/dfs/data, subPath: data}
        - {name: scratch, mountPath: {{ $p.hadoopLogs }}, subPath: logs}
        {{- include "fate-party.jvmMounts" . | nindent 8 }}
  volumes:
    {{- include "fate-party.jvmVolumes" . | nindent 4 }}
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
