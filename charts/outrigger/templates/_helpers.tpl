{{- define "outrigger.labels" -}}
app.kubernetes.io/part-of: outrigger
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Replicas of a control-plane Deployment: ha.replicas in HA mode. */}}
{{- define "outrigger.replicas" -}}
{{- if .root.Values.ha.enabled }}{{ .root.Values.ha.replicas }}{{ else }}{{ .replicas }}{{ end -}}
{{- end -}}

{{- define "outrigger.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .name .root.Values.image.tag -}}
{{- end -}}

{{/* Pod-level settings shared by the control-plane Deployments; .app is the pod's app label. */}}
{{- define "outrigger.podSpec" -}}
securityContext: {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.image.pullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .root.Values.ha.enabled }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels: {app: {{ .app }}}
{{- end }}
{{- end -}}

{{- define "outrigger.pdb" -}}
{{- if .root.Values.ha.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .app }}
  namespace: {{ .root.Release.Namespace }}
  labels: {{- include "outrigger.labels" .root | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: {{ .app }}}
{{- end }}
{{- end -}}
