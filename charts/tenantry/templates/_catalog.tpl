{{/*
The platform's fixed facts: each service's ports, the env var that carries its
address, whom it calls (the NetworkPolicies allow exactly these calls), whether
it talks to the outside world (Telegram API, SMTP, webhooks), and the component
label of the operator-managed workloads that run the same code (operatorManaged).
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
  # the operator runs each tenant's bot as `tenantry serve telegram --tenant T`
  # (component "bot"): it makes the same calls as telegram
  operatorManaged: bot
  calls: [moderation, identity, notification]
  external: true
relay:
  grpcPort: 50057
  # the moderation app's outbox relay as its own Deployment (`tenantry serve relay
  # --app moderation`); while it is enabled, moderation does not relay in-process
  args: [--app, moderation]
  calls: []
  external: false
sync-worker:
  grpcPort: 50056
  # the operator runs one sync-worker Deployment per SyncPolicy
  operatorManaged: sync-worker
  calls: [telegram, moderation, notification]
  external: true
{{- end }}

{{/* Names of the services, sorted. */}}
{{- define "tenantry.serviceNames" -}}
{{- $catalog := include "tenantry.catalog" . | fromYaml -}}
{{- keys $catalog | sortAlpha | toJson -}}
{{- end }}
