{{/*
Every configuration file the components mount, built as data (dicts -> toYaml) rather than text,
so the route tables and FATE Flow's service_conf.yaml are always well-formed YAML.

"fate-party.configData" returns {<ConfigMap name>: {<file name>: <content>}}; configmaps.yaml
renders it and "fate-party.configChecksum" hashes the entries a pod mounts.
*/}}

{{/* Where Spark, HDFS and Pulsar are: in-chart Services or the external endpoints. */}}
{{- define "fate-party.sparkMaster" -}}
{{- if .Values.externalSpark.enabled -}}
{{- required "externalSpark.master is required when externalSpark.enabled (e.g. spark://host:7077)" .Values.externalSpark.master -}}
{{- else -}}
spark://spark-master:7077
{{- end -}}
{{- end -}}

{{- define "fate-party.hdfsNamenode" -}}
{{- if .Values.externalHdfs.enabled -}}
{{- required "externalHdfs.namenode is required when externalHdfs.enabled (e.g. hdfs://host:9000)" .Values.externalHdfs.namenode -}}
{{- else -}}
hdfs://namenode:9000
{{- end -}}
{{- end -}}

{{/* Pulsar endpoint as YAML {host, port, sslPort, adminPort}. */}}
{{- define "fate-party.pulsarEndpoint" -}}
{{- if .Values.externalPulsar.enabled -}}
host: {{ required "externalPulsar.host is required when externalPulsar.enabled" .Values.externalPulsar.host | quote }}
port: {{ .Values.externalPulsar.port | int }}
sslPort: {{ .Values.externalPulsar.sslPort | int }}
adminPort: {{ .Values.externalPulsar.adminPort | int }}
{{- else -}}
host: pulsar
port: 6650
sslPort: 6651
adminPort: 8080
{{- end -}}
{{- end -}}

{{/* FATE's pulsar route table: this party, the operator's extra routes, and the exchange default. */}}
{{- define "fate-party.pulsarRouteTable" -}}
{{- $pulsar := include "fate-party.pulsarEndpoint" . | fromYaml -}}
{{- $table := dict -}}
{{- $_ := set $table (include "fate-party.partyId" .) (dict "host" $pulsar.host "port" $pulsar.port "sslPort" $pulsar.sslPort "proxy" "") -}}
{{- range $party, $route := .Values.pulsar.route_table -}}
{{- if ne (toString $party) (include "fate-party.partyId" $) -}}
{{- fail (printf "pulsar.route_table.%s: FATE 2.x looks explicit Pulsar routes up with int(party_id) against the string keys FATE Flow passes (fate/arch/federation/backends/pulsar/_federation.py), so a route for another party is never used; remove it and reach party %s through pulsar.exchange (<party>.<domain> via the exchange's traffic-server)" (toString $party) (toString $party)) -}}
{{- end -}}
{{- $_ := set $table (toString $party) $route -}}
{{- end -}}
{{- with .Values.pulsar.exchange -}}
{{- if .ip -}}
{{- $_ := set $table "default" (dict "proxy" (printf "%s:%d" .ip (.port | int)) "domain" .domain "brokerPort" 6650 "brokerSslPort" 6651) -}}
{{- end -}}
{{- end -}}
{{- include "fate-party.routeTableYaml" $table -}}
{{- end -}}

{{/* A route table as YAML with bare integer party keys (9999:, not "9999":), the form FATE's
sample tables and the nginx image's Lua loader use. */}}
{{- define "fate-party.routeTableYaml" -}}
{{- regexReplaceAll "(?m)^\"([0-9]+)\":" (toYaml .) "${1}:" -}}
{{- end -}}

{{/* The nginx route table: this party's FATE Flow, extra routes, and the exchange as default proxy. */}}
{{- define "fate-party.nginxRouteTable" -}}
{{- $table := dict -}}
{{- $own := dict "fateflow" (list (dict "host" "fateflow" "http_port" 9380 "grpc_port" 9360)) -}}
{{- $_ := set $table (include "fate-party.partyId" .) $own -}}
{{- range $party, $route := .Values.nginx.route_table -}}
{{- $_ := set $table (toString $party) $route -}}
{{- end -}}
{{- with .Values.nginx.exchange -}}
{{- if .ip -}}
{{- $_ := set $table "default" (dict "proxy" (list (dict "host" .ip "http_port" (.httpPort | int) "grpc_port" (.grpcPort | int)))) -}}
{{- end -}}
{{- end -}}
{{- if not (hasKey $table "default") -}}
{{- $_ := set $table "default" (include "fate-party.unknownPartyRoute" . | fromYaml) -}}
{{- end -}}
{{- include "fate-party.routeTableYaml" $table -}}
{{- end -}}

{{/* FATE's nginx Lua (route_table.lua) indexes route:get("default") for any party it has no entry for:
without a `default` it fails with a nil-index error. Until an exchange is set, `default` points at a
local server that answers 404 "party not in this route table" (fateops-unknown-party.conf). */}}
{{- define "fate-party.unknownPartyRoute" -}}
proxy:
  - {host: 127.0.0.1, http_port: 9398, grpc_port: 9399}
{{- end -}}

{{- define "fate-party.unknownPartyVhost" -}}
# Written by fateops: where FATE's nginx Lua sends a party its route table does not list.
server {
    listen 127.0.0.1:9398;
    server_name fateops_unknown_party;
    location / {
        default_type text/plain;
        return 404 "fateops: party $http_dest_party_id is not in this nginx's route table\n";
    }
}
server {
    listen 127.0.0.1:9399 http2;
    server_name fateops_unknown_party_grpc;
    location / {
        default_type text/plain;
        return 404 "fateops: party $http_dest_party_id is not in this nginx's route table\n";
    }
}
{{ end -}}

{{/* FATE Flow's service_conf.yaml. @@MYSQL_PASSWORD@@ and @@POD_IP@@ are filled in by the
python pod's init container (render-conf.sh), so no secret ever lands in a ConfigMap. */}}
{{- define "fate-party.serviceConf" -}}
{{- $pulsar := include "fate-party.pulsarEndpoint" . | fromYaml -}}
{{- $conf := dict
  "party_id" (include "fate-party.partyId" .)
  "use_registry" false
  "log_level" (.Values.python.logLevel | int)
  "fateflow" (dict "host" "@@POD_IP@@" "http_port" 9380 "grpc_port" 9360 "proxy_name" "nginx")
  "database" (dict "engine" "mysql" "decrypt_key" ""
    "mysql" (dict "name" .Values.mysql.database "user" .Values.mysql.user "passwd" "@@MYSQL_PASSWORD@@"
                  "host" "mysql" "port" 3306 "max_connections" 100 "stale_timeout" 30))
  "default_engines" (dict "computing" "spark" "federation" "pulsar" "storage" "hdfs")
  "default_provider" (dict "name" "fate" "device" "local")
  "computing" (dict "spark" (dict "home" "" "cores" (.Values.python.sparkCores | int)))
  "federation" (dict
    "pulsar" (dict "host" $pulsar.host "port" $pulsar.port "mng_port" $pulsar.adminPort
                   "cluster" "standalone" "tenant" .Values.pulsar.tenant "topic_ttl" (.Values.pulsar.topicTtl | int)
                   "mode" "replication" "max_message_size" (.Values.pulsar.maxMessageSize | int))
    "nginx" (dict "host" "nginx" "http_port" 9300 "grpc_port" 9310 "protocol" "http"))
  "storage" (dict "hdfs" (dict "name_node" (include "fate-party.hdfsNamenode" .)))
  "hook_module" (dict
    "client_authentication" "fate_flow.hook.flow.client_authentication"
    "site_authentication" "fate_flow.hook.flow.site_authentication"
    "permission" "fate_flow.hook.flow.permission")
  "authentication" (dict "client" false "site" false "permission" false)
  "model_store" (dict "engine" "file" "decrypt_key" "" "file" (dict "path" ""))
-}}
{{- toYaml (mergeOverwrite $conf (deepCopy .Values.python.serviceConf)) -}}
{{- end -}}

{{/* Pulsar standalone.conf: ports, TLS from the pulsar-cert Secret, single-node quorums. */}}
{{- define "fate-party.pulsarConf" -}}
{{- $conf := dict
  "clusterName" "standalone"
  "brokerServicePort" 6650
  "webServicePort" 8080
  "maxMessageSize" (.Values.pulsar.maxMessageSize | int)
  "managedLedgerDefaultEnsembleSize" 1
  "managedLedgerDefaultWriteQuorum" 1
  "managedLedgerDefaultAckQuorum" 1
  "brokerDeleteInactiveTopicsEnabled" "false"
  "authenticationEnabled" "false"
-}}
{{- if .Values.pulsar.tls.enabled -}}
{{- $_ := merge $conf (dict
  "brokerServicePortTls" 6651
  "tlsCertificateFilePath" "/pulsar/certs/broker.cert.pem"
  "tlsKeyFilePath" "/pulsar/certs/broker.key-pk8.pem"
  "tlsTrustCertsFilePath" "/pulsar/certs/ca.cert.pem"
  "tlsRequireTrustedClientCertOnConnect" "true"
  "tlsAllowInsecureConnection" "false"
  "brokerClientTlsEnabled" "true"
  "brokerClientTrustCertsFilePath" "/pulsar/certs/ca.cert.pem"
  "brokerClientAuthenticationPlugin" "org.apache.pulsar.client.impl.auth.AuthenticationTls"
  "brokerClientAuthenticationParameters" "tlsCertFile:/pulsar/certs/broker.cert.pem,tlsKeyFile:/pulsar/certs/broker.key-pk8.pem") -}}
{{- end -}}
{{- include "fate-party.keyValueLines" (dict "map" (mergeOverwrite $conf (deepCopy .Values.pulsar.extraConfig)) "sep" "=") | trim }}
{{ end -}}

{{- define "fate-party.coreSite" -}}
{{- $props := dict "fs.defaultFS" (include "fate-party.hdfsNamenode" .) -}}
{{- include "fate-party.hadoopXml" (mergeOverwrite $props (deepCopy .Values.hdfs.coreSite)) -}}
{{- end -}}

{{- define "fate-party.hdfsSite" -}}
{{- $props := dict
  "dfs.replication" 1
  "dfs.namenode.name.dir" "file:///hadoop/dfs/name"
  "dfs.datanode.data.dir" "file:///hadoop/dfs/data"
  "dfs.namenode.datanode.registration.ip-hostname-check" "false"
  "dfs.permissions.enabled" "false"
  "dfs.namenode.rpc-bind-host" "0.0.0.0"
  "dfs.namenode.servicerpc-bind-host" "0.0.0.0"
  "dfs.namenode.http-bind-host" "0.0.0.0"
  "dfs.namenode.https-bind-host" "0.0.0.0"
-}}
{{- include "fate-party.hadoopXml" (mergeOverwrite $props (deepCopy .Values.hdfs.hdfsSite)) -}}
{{- end -}}

{{- define "fate-party.sparkDefaults" -}}
{{- $props := dict "spark.master" (include "fate-party.sparkMaster" .) -}}
{{- include "fate-party.keyValueLines" (dict "map" (mergeOverwrite $props (deepCopy .Values.spark.defaults)) "sep" " ") | trim }}
{{ end -}}

{{/* FATE Board's application.properties. The image starts Board with -Dspring.config.location pointing
at this one file, so it replaces Board's built-in defaults: every key Board reads is here (the set
KubeFATE v2.0.0 ships). FATE Flow binds the pod IP, not localhost: Board asks the `fateflow` Service.
The password is filled in at pod start (@@BOARD_PASSWORD@@, from the fateboard-auth Secret). */}}
{{- define "fate-party.fateboardProperties" -}}
{{- $props := dict
  "server.port" 8080
  "fateflow.url" "http://fateflow:9380"
  "fateflow.url-list" ""
  "fateflow.http_app_key" ""
  "fateflow.http_secret_key" ""
  "server.servlet.encoding.charset" "UTF-8"
  "server.servlet.encoding.enabled" "true"
  "server.tomcat.uri-encoding" "UTF-8"
  "fateboard.front_end.cors" "false"
  "fateboard.front_end.url" "http://localhost:8028"
  "server.tomcat.max-threads" 1000
  "server.tomcat.max-connections" 20000
  "spring.servlet.multipart.max-file-size" "10MB"
  "spring.servlet.multipart.max-request-size" "100MB"
  "server.compression.enabled" "true"
  "server.compression.mime-types" "application/json,application/xml,text/html,text/xml,text/plain"
  "server.board.login.username" .Values.fateboard.username
  "server.board.login.password" "@@BOARD_PASSWORD@@"
  "server.board.encrypt.private_key" ""
  "server.board.encrypt.enable" "false"
  "server.servlet.session.timeout" "4h"
  "server.servlet.session.cookie.max-age" "4h"
  "management.endpoints.web.exposure.exclude" "*"
  "feign.client.config.default.connectTimeout" 10000
  "feign.client.config.default.readTimeout" 10000
-}}
{{- include "fate-party.keyValueLines" (dict "map" (mergeOverwrite $props (deepCopy .Values.fateboard.properties)) "sep" "=") | trim }}
{{ end -}}

{{/* Fills FATE Flow's config template with the MySQL password and the pod IP. awk's index/substr
copy the values verbatim (no regex or sed metacharacters to escape). */}}
{{- define "fate-party.renderConfScript" -}}
#!/bin/sh
# Written by the fate-party chart: fill secrets into FATE Flow's config at pod start.
set -eu
fill() {
  awk '
    function fill(s, token, value,    i, out) {
      out = ""
      while ((i = index(s, token)) > 0) { out = out substr(s, 1, i - 1) value; s = substr(s, i + length(token)) }
      return out s
    }
    { print fill(fill(fill($0, "@@MYSQL_PASSWORD@@", ENVIRON["MYSQL_PASSWORD"]), "@@POD_IP@@", ENVIRON["POD_IP"]), "@@BOARD_PASSWORD@@", ENVIRON["BOARD_PASSWORD"]) }
  ' "$1" > "$2"
}
fill /etc/fateops/fateflow/service_conf.yaml /etc/fateops/rendered/service_conf.yaml
if [ -f /etc/fateops/fateboard/application.properties ]; then
  fill /etc/fateops/fateboard/application.properties /etc/fateops/rendered/application.properties
fi
{{ end -}}

{{- define "fate-party.configData" -}}
{{- $data := dict -}}
{{- $_ := set $data "fateflow-config" (dict
  "service_conf.yaml" (include "fate-party.serviceConf" .)
  "pulsar_route_table.yaml" (include "fate-party.pulsarRouteTable" .)
  "render-conf.sh" (include "fate-party.renderConfScript" .)) -}}
{{- $_ := set $data "nginx-route-table" (dict "route_table.yaml" (include "fate-party.nginxRouteTable" .)) -}}
{{- $_ := set $data "nginx-config" (dict "fateops-unknown-party.conf" (include "fate-party.unknownPartyVhost" .)) -}}
{{- $_ := set $data "hadoop-config" (dict "core-site.xml" (include "fate-party.coreSite" .) "hdfs-site.xml" (include "fate-party.hdfsSite" .)) -}}
{{- $_ := set $data "spark-config" (dict "spark-defaults.conf" (include "fate-party.sparkDefaults" .)) -}}
{{- if .Values.fateboard.enabled -}}
{{- $_ := set $data "fateboard-config" (dict "application.properties" (include "fate-party.fateboardProperties" .)) -}}
{{- end -}}
{{- if not .Values.externalPulsar.enabled -}}
{{- $_ := set $data "pulsar-config" (dict "standalone.conf" (include "fate-party.pulsarConf" .)) -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}
