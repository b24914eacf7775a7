{{- define "tenantry.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "tenantry.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end }}

{{- define "tenantry.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{/* Selector labels. Call with (dict "root" $ "component" "gateway"). */}}
{{- define "tenantry.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tenantry.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Common labels. Call with (dict "root" $ "component" "gateway"). */}}
{{- define "tenantry.labels" -}}
{{ include "tenantry.selectorLabels" . }}
app.kubernetes.io/part-of: tenantry
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "tenantry.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Image reference. Call with (dict "root" $ "image" <per-service image or nil>). */}}
{{- define "tenantry.image" -}}
{{- $g := .root.Values.image -}}
{{- $s := .image | default dict -}}
{{- $repo := $s.repository | default $g.repository -}}
{{- $digest := $s.digest | default $g.digest -}}
{{- $tag := $s.tag | default $g.tag | default .root.Chart.AppVersion -}}
{{- if $digest -}}
{{- printf "%s@%s" $repo $digest -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end }}

{{- define "tenantry.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "tenantry.fullname" .)) -}}
{{- end }}

{{- define "tenantry.configName" -}}
{{- printf "%s-config" (include "tenantry.fullname" .) -}}
{{- end }}

{{- define "tenantry.postgresqlHost" -}}
{{- printf "%s-postgresql" (include "tenantry.fullname" .) -}}
{{- end }}

{{- define "tenantry.redisHost" -}}
{{- printf "%s-redis" (include "tenantry.fullname" .) -}}
{{- end }}

{{/*
Effective settings of one service: its own values over `defaults`, key by key
(hasKey, so that an explicit false/0/{} in the service wins). Returns YAML.
Call with (dict "root" $ "name" "gateway").
*/}}
{{- define "tenantry.serviceConfig" -}}
{{- $d := .root.Values.defaults -}}
{{- $s := index .root.Values.services .name -}}
{{- $out := dict -}}
{{- range $k := list "resources" "terminationGracePeriodSeconds" "podAnnotations" "podLabels" "nodeSelector" "tolerations" "affinity" "topologySpreadConstraints" -}}
{{- $_ := set $out $k (ternary (get $s $k) (get $d $k) (hasKey $s $k)) -}}
{{- end -}}
{{- range $k := list "autoscaling" "pdb" -}}
{{- $merged := dict -}}
{{- $own := get $s $k | default dict -}}
{{- range $kk, $vv := get $d $k -}}
{{- $_ := set $merged $kk (ternary (get $own $kk) $vv (hasKey $own $kk)) -}}
{{- end -}}
{{- $_ := set $out $k $merged -}}
{{- end -}}
{{- toYaml $out -}}
{{- end }}

{{/* Pod-level security context shared by every Tenantry pod. */}}
{{- define "tenantry.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security context. Call with the root context. */}}
{{- define "tenantry.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: {{ not .Values.liveUpdate }}
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Whether any bundled backend is rendered. */}}
{{- define "tenantry.anyBundled" -}}
{{- if or (eq .Values.postgresql.mode "bundled") (eq .Values.redis.mode "bundled") }}true{{ end -}}
{{- end }}

{{/* DATABASE_URL and REDIS_URL env entries (from the chart Secret or the external ones). */}}
{{- define "tenantry.backendEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      {{- if eq .Values.postgresql.mode "external" }}
      name: {{ required "postgresql.external.existingSecret is required when postgresql.mode=external" .Values.postgresql.external.existingSecret }}
      key: {{ .Values.postgresql.external.key }}
      {{- else }}
      name: {{ include "tenantry.secretName" . }}
      key: DATABASE_URL
      {{- end }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      {{- if eq .Values.redis.mode "external" }}
      name: {{ required "redis.external.existingSecret is required when redis.mode=external" .Values.redis.external.existingSecret }}
      key: {{ .Values.redis.external.key }}
      {{- else }}
      name: {{ include "tenantry.secretName" . }}
      key: REDIS_URL
      {{- end }}
{{- end }}

{{/* Egress rules to PostgreSQL and Redis (bundled pods, or networkPolicy.backendsTo). */}}
{{- define "tenantry.backendEgress" -}}
{{- range $backend := list "postgresql" "redis" }}
{{- $port := ternary 5432 6379 (eq $backend "postgresql") }}
{{- if eq (index $.Values $backend).mode "bundled" }}
- to:
    - podSelector:
        matchLabels:
          {{- include "tenantry.selectorLabels" (dict "root" $ "component" $backend) | nindent 10 }}
  ports:
    - port: {{ $port }}
      protocol: TCP
{{- else if $.Values.networkPolicy.backendsTo }}
- to:
    {{- toYaml $.Values.networkPolicy.backendsTo | nindent 4 }}
  ports:
    - port: {{ $port }}
      protocol: TCP
{{- else }}
- ports:
    - port: {{ $port }}
      protocol: TCP
{{- end }}
{{- end }}
{{- end }}

{{/*
Egress rules of one service (also used for the operator-managed pods running the
same code): DNS, its callees' gRPC ports, the backends, external HTTPS/SMTP where
the catalog says so, and the OTel collector when an endpoint is set.
Call with (dict "root" $ "name" "telegram").
*/}}
{{- define "tenantry.serviceEgress" -}}
{{- $root := .root -}}
{{- $catalog := include "tenantry.catalog" $root | fromYaml -}}
{{- $spec := index $catalog .name -}}
{{- $np := $root.Values.networkPolicy -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- range $callee := $spec.calls }}
- to:
    - podSelector:
        matchLabels:
          app.kubernetes.io/name: {{ include "tenantry.name" $root }}
          app.kubernetes.io/component: {{ $callee }}
  ports:
    - port: {{ (index $catalog $callee).grpcPort }}
      protocol: TCP
{{- end }}
{{- include "tenantry.backendEgress" $root }}
{{- if $spec.external }}
- to:
    {{- toYaml $np.externalTo | nindent 4 }}
  ports:
    - port: 443
      protocol: TCP
    - port: 587
      protocol: TCP
    - port: 465
      protocol: TCP
{{- end }}
{{- if $root.Values.observability.otel.endpoint }}
- to:
    {{- toYaml $np.otelCollectorTo | nindent 4 }}
  ports:
    - port: 4317
      protocol: TCP
    - port: 4318
      protocol: TCP
{{- end }}
{{- end }}
