{{/*
Names and labels shared by the templates. Only standard Helm and Sprig functions are used.
*/}}

{{/*
The resources' name: RELEASE-tandem, or fullnameOverride. At most 52 characters, because the
StatefulSet controller adds a hash suffix to a label carrying it (63 at most).
*/}}
{{- define "tandem.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The headless Service that gives every pod a stable DNS name for NATS routes. */}}
{{- define "tandem.headless" -}}
{{- printf "%s-headless" (include "tandem.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Secret holding the API key: the chart's own or existingSecret. */}}
{{- define "tandem.secretName" -}}
{{- default (include "tandem.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- define "tandem.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tandem.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tandem.labels" -}}
helm.sh/chart: {{ include "tandem.chart" . }}
{{ include "tandem.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
TANDEM_CLUSTER_ROUTES: every pod of the StatefulSet through the headless Service,
nats://RELEASE-tandem-N.RELEASE-tandem-headless:6222 for N in 0..replicaCount-1. A NATS server
recognises the route to itself and skips it, so every pod gets the same list.
*/}}
{{- define "tandem.clusterRoutes" -}}
{{- $fullname := include "tandem.fullname" . -}}
{{- $headless := include "tandem.headless" . -}}
{{- $port := .Values.nats.clusterPort -}}
{{- range $i := until (int .Values.replicaCount) -}}
{{- if $i }},{{ end -}}
{{- printf "nats://%s-%d.%s:%v" $fullname $i $headless $port -}}
{{- end -}}
{{- end -}}
