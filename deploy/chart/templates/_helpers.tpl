{{- define "doctor.name" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "doctor.labels" -}}
app.kubernetes.io/name: eks-cilium-doctor
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "doctor.selector" -}}
app.kubernetes.io/name: eks-cilium-doctor
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
