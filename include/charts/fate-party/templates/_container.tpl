{{/* One container (or init container) of a component-table entry. Image, resources and the
container security context come from the values the entry points at; probes are TCP checks on the
entry's probePort. Arg: dict root, k (table container), init (bool). */}}
{{- define "fate-party.container" -}}
{{- $k := .k -}}
{{- $root := .root -}}
- name: {{ $k.name }}
  image: {{ include "fate-party.image" (dict "root" $root "image" $k.cv.image) | quote }}
  imagePullPolicy: {{ get $k.cv.image "pullPolicy" | default $root.Values.image.pullPolicy }}
  {{- with get $k "command" }}
  command:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with get $k "args" }}
  args:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with get $k "workingDir" }}
  workingDir: {{ . }}
  {{- end }}
  {{- with get $k "ports" }}
  ports:
    {{- range . }}
    - {name: {{ .name }}, containerPort: {{ .containerPort | int }}, protocol: TCP}
    {{- end }}
  {{- end }}
  {{- with get $k "env" }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  resources:
    {{- toYaml (get $k "resources" | default $k.cv.resources) | nindent 4 }}
  securityContext:
    {{- toYaml (merge (deepCopy (get $k.cv "containerSecurityContext" | default dict)) (deepCopy $root.Values.containerSecurityContext)) | nindent 4 }}
  {{- if and (not .init) (get $k "probePort") }}
  readinessProbe:
    tcpSocket: {port: {{ $k.probePort }}}
    initialDelaySeconds: 10
    periodSeconds: 10
    failureThreshold: 3
  livenessProbe:
    tcpSocket: {port: {{ $k.probePort }}}
    initialDelaySeconds: 60
    periodSeconds: 20
    failureThreshold: 6
  {{- end }}
  {{- with get $k "volumeMounts" }}
  volumeMounts:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
