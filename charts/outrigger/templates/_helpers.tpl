{{- define "outrigger.labels" -}}
app.kubernetes.io/part-of: outrigger
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "outrigger.operatorReplicas" -}}
{{- if .Values.ha.enabled }}{{ .Values.ha.replicas }}{{ else }}{{ .Values.operator.replicas }}{{ end -}}
{{- end -}}
