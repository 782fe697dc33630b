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

{{/* The nginx route table with bare integer party keys, as FATE's nginx image expects. */}}
{{- define "fate-exchange.nginxRouteTable" -}}
{{- if .Values.nginx.route_table -}}
{{- regexReplaceAll "(?m)^\"([0-9]+)\":" (toYaml .Values.nginx.route_table) "${1}:" -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

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

{{/* records.config settings as ATS environment overrides (proxy.config.a.b -> PROXY_CONFIG_A_B). */}}
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
  configs: [nginx-route-table]
  checksumConfigs: [nginx-route-table]
  containers:
    - name: nginx
      ports:
        - {name: http, containerPort: 9300}
        - {name: grpc, containerPort: 9310}
      probePort: http
      volumeMounts:
        - {name: nginx-route-table, mountPath: {{ $v.nginx.routeTablePath | quote }}, subPath: route_table.yaml}
  volumes: []
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
