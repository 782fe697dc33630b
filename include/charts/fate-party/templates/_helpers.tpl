{{/*
Shared helpers. Every component is rendered from one table (_components.tpl) by generic templates
(workloads.yaml, services.yaml, persistentvolumeclaims.yaml), so names, labels, images, security
contexts and storage are decided here, once.
*/}}

{{- define "fate-party.name" -}}
{{- .Chart.Name -}}
{{- end -}}

{{- define "fate-party.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The party id as a string (values from YAML are floats; never print 1e+07). */}}
{{- define "fate-party.partyId" -}}
{{- .Values.partyId | int64 | toString -}}
{{- end -}}

{{/* Labels for every object. Arg: dict root, component. */}}
{{- define "fate-party.labels" -}}
helm.sh/chart: {{ include "fate-party.chart" .root }}
{{ include "fate-party.selectorLabels" . }}
app.kubernetes.io/part-of: fate
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
fate.fedai.org/party-id: {{ include "fate-party.partyId" .root | quote }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The immutable subset used in selectors. Arg: dict root, component. */}}
{{- define "fate-party.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fate-party.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* registry/repository:tag. Arg: dict root, image. */}}
{{- define "fate-party.image" -}}
{{- $registry := .image.registry | default .root.Values.image.registry -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry .image.repository (toString .image.tag) -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (toString .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The pod security context: the global one with the component's fields on top. Arg: dict root, values. */}}
{{- define "fate-party.podSecurityContext" -}}
{{- $own := get .values "podSecurityContext" | default dict -}}
{{- toYaml (merge (deepCopy $own) (deepCopy .root.Values.podSecurityContext)) -}}
{{- end -}}

{{/* The storageClassName line of a PVC ("" = cluster default, "-" = none). Arg: dict root, persistence. */}}
{{- define "fate-party.storageClass" -}}
{{- $class := .persistence.storageClass | default .root.Values.persistence.storageClass -}}
{{- if eq $class "-" }}
storageClassName: ""
{{- else if $class }}
storageClassName: {{ $class | quote }}
{{- end -}}
{{- end -}}

{{/* Whether a component keeps its data on a PVC. Arg: dict root, values. Prints "true" or "". */}}
{{- define "fate-party.persistent" -}}
{{- $p := get .values "persistence" | default dict -}}
{{- if and .root.Values.persistence.enabled (get $p "enabled") -}}true{{- end -}}
{{- end -}}

{{/* The service account the pods run as. */}}
{{- define "fate-party.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default "fate-party" -}}
{{- end -}}

{{/* sha256 of the ConfigMaps a component mounts, so a config change rolls exactly those pods.
Arg: dict root, names (ConfigMap names). */}}
{{- define "fate-party.configChecksum" -}}
{{- $all := include "fate-party.configData" .root | fromYaml -}}
{{- $picked := dict -}}
{{- range .names -}}
{{- $_ := set $picked . (get $all .) -}}
{{- end -}}
{{- toYaml $picked | sha256sum -}}
{{- end -}}

{{/* Walk a dotted path ("spark.master") into .Values. Arg: dict root, path, out; sets out.v. */}}
{{- define "fate-party.valuesAt" -}}
{{- $v := .root.Values -}}
{{- range splitList "." .path -}}
{{- $v = index $v . -}}
{{- end -}}
{{- $_ := set .out "v" $v -}}
{{- end -}}

{{/* Hadoop-style XML properties from a map. */}}
{{- define "fate-party.hadoopXml" -}}
<?xml version="1.0" encoding="UTF-8"?>
<configuration>
{{- range $key, $value := . }}
  <property><name>{{ $key }}</name><value>{{ $value }}</value></property>
{{- end }}
</configuration>
{{ end -}}

{{/* key<sep>value lines from a map, sorted. Arg: dict map, sep. */}}
{{- define "fate-party.keyValueLines" -}}
{{- range $key, $value := .map }}
{{ $key }}{{ $.sep }}{{ $value }}
{{- end }}
{{ end -}}
