{{/*
Shared helpers of the exchange chart: names, labels, images, security contexts, the config files
(built as data) and the per-component table read by the generic templates.
*/}}

{{- define "fate-exchange.name" -}}
{{- .Chart.Name -}}
{{- end -}}

{{- define "fate-exchange.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels for every object. Arg: dict root, component. */}}
{{- define "fate-exchange.labels" -}}
helm.sh/chart: {{ include "fate-exchange.chart" .root }}
{{ include "fate-exchange.selectorLabels" . }}
app.kubernetes.io/part-of: fate
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
fate.fedai.org/role: exchange
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "fate-exchange.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fate-exchange.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "fate-exchange.image" -}}
{{- $registry := .image.registry | default .root.Values.image.registry -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry .image.repository (toString .image.tag) -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (toString .image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "fate-exchange.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default "fate-exchange" -}}
{{- end -}}

{{/* ATS's sni.yaml: the values' KubeFATE spelling (tunnelRoute) becomes ATS's tunnel_route. */}}
{{- define "fate-exchange.sniYaml" -}}
{{- $rules := list -}}
{{- range .Values.trafficServer.route_table.sni -}}
{{- $rules = append $rules (dict "fqdn" .fqdn "tunnel_route" .tunnelRoute) -}}
{{- end -}}
{{- toYaml (dict "sni" $rules) -}}
{{- end -}}

{{/* The nginx route table with bare integer party keys, as FATE's nginx image expects. FATE's Lua
(route_table.lua) indexes route:get("default") for every party it has no entry for and fails with a
nil-index error when there is none: `default` here is a local server that answers 404 "party not in
this route table" (fateops-unknown-party.conf), never the exchange itself (a loop). */}}
{{- define "fate-exchange.nginxRouteTable" -}}
{{- $table := deepCopy .Values.nginx.route_table -}}
{{- if not (hasKey $table "default") -}}
{{- $_ := set $table "default" (dict "proxy" (list (dict "host" "127.0.0.1" "http_port" 9398 "grpc_port" 9399))) -}}
{{- end -}}
{{- regexReplaceAll "(?m)^\"([0-9]+)\":" (toYaml $table) "${1}:" -}}
{{- end -}}

{{- define "fate-exchange.unknownPartyVhost" -}}
# Written by fateops: where FATE's nginx Lua sends a party its route table does not list.
server {
    listen 127.0.0.1:9398;
    server_name fateops_unknown_party;
    location / {
        default_type text/plain;
        return 404 "fateops: party $http_dest_party_id is not in the exchange's route table\n";
    }
}
server {
    listen 127.0.0.1:9399 http2;
    server_name fateops_unknown_party_grpc;
    location / {
        default_type text/plain;
        return 404 "fateops: party $http_dest_party_id is not in the exchange's route table\n";
    }
}
{{ end -}}

{{/* {<ConfigMap>: {<file>: <content>}}. The route tables are split from the rest of ATS's config
so checksum/config can leave sni.yaml out when trafficServer.rollOnRouteChange is false. */}}
{{- define "fate-exchange.configData" -}}
{{- $data := dict -}}
{{- if .Values.trafficServer.enabled -}}
{{- $_ := set $data "traffic-server-config" (dict
  "ssl_multicert.config" "dest_ip=* ssl_cert_name=proxy.cert.pem ssl_key_name=proxy.key.pem\n") -}}
{{- $_ := set $data "traffic-server-route-table" (dict "sni.yaml" (include "fate-exchange.sniYaml" .)) -}}
{{- end -}}
{{- if .Values.nginx.enabled -}}
{{- $_ := set $data "nginx-route-table" (dict "route_table.yaml" (include "fate-exchange.nginxRouteTable" .)) -}}
{{- $_ := set $data "nginx-config" (dict "fateops-unknown-party.conf" (include "fate-exchange.unknownPartyVhost" .)) -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/* sha256 of the named ConfigMaps' content. Arg: dict root, names. */}}
{{- define "fate-exchange.configChecksum" -}}
{{- $all := include "fate-exchange.configData" .root | fromYaml -}}
{{- $picked := dict -}}
{{- range .names -}}
{{- $_ := set $picked . (get $all .) -}}
{{- end -}}
{{- toYaml $picked | sha256sum -}}
{{- end -}}

{{/* records.config settings as ATS environment overrides (proxy.config.a.b -> PROXY_CONFIG_A_B).
proxy.config.admin.user_id "#-1": traffic_manager started as a non-root uid keeps it instead of
trying to switch to the image's configured user (which only root may do). */}}
{{- define "fate-exchange.atsEnv" -}}
{{- $ts := .Values.trafficServer -}}
{{- $records := dict
  "proxy.config.http.server_ports" (printf "%d:ssl" ($ts.containerPort | int))
  "proxy.config.ssl.servername.filename" "/etc/fateops/trafficserver-routes/sni.yaml"
  "proxy.config.ssl.server.multicert.filename" "/etc/fateops/trafficserver/ssl_multicert.config"
  "proxy.config.ssl.server.cert.path" "/etc/fateops/trafficserver-tls"
  "proxy.config.ssl.server.private_key.path" "/etc/fateops/trafficserver-tls"
  "proxy.config.ssl.CA.cert.path" "/etc/fateops/trafficserver-tls"
  "proxy.config.ssl.CA.cert.filename" "ca.cert.pem"
  "proxy.config.ssl.client.certification_level" (ternary 2 0 $ts.tls.requireClientCert)
  "proxy.config.admin.user_id" "#-1"
  "proxy.config.http.connect_ports" $ts.tunnelPorts
-}}
{{- $env := list -}}
{{- range $key, $value := mergeOverwrite $records (deepCopy $ts.records) -}}
{{- $env = append $env (dict "name" ($key | upper | replace "." "_") "value" (toString $value)) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
The component table (same shape as fate-party's): component, values, enabled, configs
(ConfigMaps mounted; feed checksum/config), checksumConfigs (subset hashed), containers, volumes,
services.
*/}}
{{- define "fate-exchange.componentTable" -}}
{{- $v := .Values -}}
nginx:
  component: nginx
  values: nginx
  enabled: {{ $v.nginx.enabled }}
  configs: [nginx-route-table, nginx-config]
  # FATE's Lua re-reads route_table.yaml every 5 s, but a subPath mount never sees a ConfigMap update:
  # a route change rolls the nginx pods.
  checksumConfigs: [nginx-route-table, nginx-config]
  containers:
    - name: nginx
      ports:
        - {name: http, containerPort: 9300}
        - {name: grpc, containerPort: 9310}
      probePort: http
      volumeMounts:
        - {name: nginx-route-table, mountPath: {{ $v.nginx.routeTablePath | quote }}, subPath: route_table.yaml}
        - {name: nginx-config, mountPath: /data/projects/fate/proxy/nginx/conf/vhost/fateops-unknown-party.conf, subPath: fateops-unknown-party.conf}
        {{- range list "logs" "client_body_temp" "proxy_temp" "fastcgi_temp" "uwsgi_temp" "scgi_temp" }}
        - {name: scratch, mountPath: /data/projects/fate/proxy/nginx/{{ . }}, subPath: {{ . }}}
        {{- end }}
  volumes:
    # openresty as a non-root uid: FATE's nginx.conf logs to <prefix>/logs and nginx creates its
    # *_temp directories in the prefix (/data/projects/fate/proxy/nginx) at start.
    - {name: scratch, emptyDir: {sizeLimit: 1Gi}}
  services:
    - name: nginx
      ports:
        - {name: http, port: 9300, targetPort: http}
        - {name: grpc, port: 9310, targetPort: grpc}
traffic-server:
  component: traffic-server
  values: trafficServer
  enabled: {{ $v.trafficServer.enabled }}
  configs: [traffic-server-config, traffic-server-route-table]
  checksumConfigs: [traffic-server-config{{ if $v.trafficServer.rollOnRouteChange }}, traffic-server-route-table{{ end }}]
  containers:
    - name: traffic-server
      # traffic_manager supervises traffic_server and serves `traffic_ctl` (config reload); the image
      # has no command of its own (KubeFATE starts the same binary).
      command: [/opt/trafficserver/bin/traffic_manager]
      ports:
        - {name: https, containerPort: {{ $v.trafficServer.containerPort | int }}}
      probePort: https
      env:
        {{- include "fate-exchange.atsEnv" . | nindent 8 }}
      volumeMounts:
        - {name: traffic-server-config, mountPath: /etc/fateops/trafficserver, readOnly: true}
        - {name: traffic-server-route-table, mountPath: /etc/fateops/trafficserver-routes, readOnly: true}
        - {name: tls, mountPath: /etc/fateops/trafficserver-tls, readOnly: true}
        - {name: ats-runtime, mountPath: /opt/trafficserver/var/trafficserver}
        - {name: ats-logs, mountPath: /opt/trafficserver/var/log/trafficserver}
  volumes:
    - name: tls
      secret: {secretName: {{ $v.trafficServer.tls.secretName | quote }}, defaultMode: 288}
    - {name: ats-runtime, emptyDir: {}}
    - {name: ats-logs, emptyDir: {sizeLimit: 1Gi}}
  services:
    - name: traffic-server
      ports:
        - {name: https, port: 443, targetPort: https}
{{- end -}}

{{/* Parse the table; attach each entry's values as .v. Arg: dict root, out; sets out.table. */}}
{{- define "fate-exchange.loadComponents" -}}
{{- $table := include "fate-exchange.componentTable" .root | fromYaml -}}
{{- if hasKey $table "Error" -}}
{{- fail (printf "internal: the component table is not valid YAML: %s" $table.Error) -}}
{{- end -}}
{{- range $name, $c := $table -}}
{{- $_ := set $c "name" $name -}}
{{- $_ := set $c "v" (index $.root.Values $c.values) -}}
{{- end -}}
{{- $_ := set .out "table" $table -}}
{{- end -}}
