{{/*
The platform's fixed facts: each service's ports, the env var that carries its
address, whom it calls (the NetworkPolicies allow exactly these calls) and whether
it talks to the outside world (Telegram API, SMTP, webhooks).
A change of the architecture's call graph is a change here and nowhere else.
*/}}
{{- define "tenantry.catalog" -}}
gateway:
  httpPort: 8080
  public: true
  calls: [identity, notification, analytics, moderation, telegram]
  external: false
identity:
  grpcPort: 50051
  addrEnv: IDENTITY_ADDR
  calls: []
  external: false
notification:
  grpcPort: 50052
  addrEnv: NOTIFICATION_ADDR
  calls: [telegram]
  external: true
analytics:
  grpcPort: 50053
  addrEnv: ANALYTICS_ADDR
  calls: []
  external: false
moderation:
  grpcPort: 50054
  addrEnv: MODERATION_ADDR
  calls: [identity, telegram, notification]
  external: false
telegram:
  grpcPort: 50055
  addrEnv: TELEGRAM_ADDR
  webhookPort: 8081
  calls: [moderation, identity, notification]
  external: true
sync-worker:
  grpcPort: 50056
  calls: [telegram, moderation, notification]
  external: true
{{- end }}

{{/* Names of the services, sorted. */}}
{{- define "tenantry.serviceNames" -}}
{{- $catalog := include "tenantry.catalog" . | fromYaml -}}
{{- keys $catalog | sortAlpha | toJson -}}
{{- end }}
