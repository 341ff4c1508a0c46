# shellcheck shell=bash
# Security of the local stack (docs/security.md). Sourced by stack.sh after lib.sh.
#
# HEATWATCH_STACK_SECURITY=sasl_ssl: Kafka's client listener is SASL_SSL (SCRAM-SHA-512, TLS
# with a CA and broker certificate made here), StandardAuthorizer ACLs per user (admin,
# producer, worker); InfluxDB gets one token per component (worker: write its bucket; grafana
# and report: read). Secrets live in $SECRETS_DIR (0700, files 0600) and reach programs through
# files or stdin, never a command line (`ps` shows command lines to every user).

secure() { [[ "$STACK_SECURITY" == sasl_ssl ]]; }

check_security_mode() {
  case "$STACK_SECURITY" in
    plaintext | sasl_ssl) ;;
    *) die "HEATWATCH_STACK_SECURITY must be plaintext or sasl_ssl, not '$STACK_SECURITY'" ;;
  esac
}

# secret NAME: the content of $SECRETS_DIR/NAME, made once from 24 random bytes (hex).
secret() {
  local file="$SECRETS_DIR/$1"
  if [[ ! -s "$file" ]]; then
    (umask 077 && mkdir -p "$SECRETS_DIR" && openssl rand -hex 24 >"$file")
  fi
  cat "$file"
}

# A CA and a broker certificate (SAN 127.0.0.1 + localhost) in a PKCS#12 keystore.
make_certs() {
  [[ -s "$SECRETS_DIR/broker.p12" && -s "$SECRETS_DIR/ca.crt" ]] && return 0
  command -v openssl >/dev/null || die "openssl is needed for the secured stack (apt-get install openssl)"
  log "kafka: generating a CA and the broker certificate in $SECRETS_DIR"
  secret kafka-keystore-password >/dev/null
  (
    umask 077
    cd "$SECRETS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 825 \
      -subj "/CN=heatwatch local stack CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out broker.crt \
      -days 825 -extfile broker.ext
    openssl pkcs12 -export -in broker.crt -inkey broker.key -certfile ca.crt -name broker \
      -out broker.p12 -passout file:kafka-keystore-password
    rm -f broker.csr broker.ext ca.srl
  ) >>"$LOG_DIR/certs.log" 2>&1 || die "kafka: certificate generation failed (see $LOG_DIR/certs.log)"
  chmod 644 "$SECRETS_DIR/ca.crt" # public: clients need it to verify the broker
}

# Listener lines of server.properties for the current mode.
kafka_listener_config() {
  if ! secure; then
    cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
EOF
    return 0
  fi
  # The controller listener stays PLAINTEXT on loopback: the broker part of this same process
  # connects to it as User:ANONYMOUS, which therefore must be a super user. Clients cannot
  # reach that principal on the SASL_SSL listener (authentication is mandatory there).
  cat <<EOF
listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(secret kafka-admin-password)";
ssl.keystore.type=PKCS12
ssl.keystore.location=$SECRETS_DIR/broker.p12
ssl.keystore.password=$(secret kafka-keystore-password)
ssl.truststore.type=PEM
ssl.truststore.location=$SECRETS_DIR/ca.crt
ssl.enabled.protocols=TLSv1.3,TLSv1.2
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
EOF
}

# format_kafka_storage CLUSTER_ID CLASSPATH JAVA_OPTS...: SCRAM users are created at format
# time (KRaft); their passwords go through a java @argfile, not the command line.
format_kafka_storage() {
  local cluster_id="$1" cp="$2" argfile="$SECRETS_DIR/format.args"
  shift 2
  (umask 077 && mkdir -p "$SECRETS_DIR" && {
    printf '%s\n' kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" \
      -c "$KAFKA_DIR/config/server.properties"
    if secure; then
      local user
      for user in admin producer worker; do
        printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$user" "$(secret "kafka-$user-password")"
      done
    fi
  } >"$argfile")
  java -cp "$cp" "$@" "@$argfile" >>"$LOG_DIR/kafka-format.log" 2>&1 || {
    rm -f "$argfile"
    die "kafka: storage format failed (see $LOG_DIR/kafka-format.log)"
  }
  rm -f "$argfile"
}

# Client properties for Kafka's own tools (AclCommand, TopicCommand) as the admin user.
admin_client_properties() {
  local file="$SECRETS_DIR/admin-client.properties"
  (umask 077 && cat >"$file" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(secret kafka-admin-password)";
ssl.truststore.type=PEM
ssl.truststore.location=$SECRETS_DIR/ca.crt
EOF
  )
  echo "$file"
}

kafka_tool() {
  java -Xmx256m -cp "$KAFKA_LIB_DIR/*" "-Dlog4j.configuration=file:$KAFKA_DIR/config/log4j.properties" \
    "$@" >>"$LOG_DIR/kafka-setup.log" 2>&1
}

# ACLs (least privilege), once per data dir. Patterns are prefixes of the default names in
# streams/settings.py (so `heatwatch.telemetry.<run>` works for tests and parallel
# experiments); the worker's group, changelog and Faust-internal topics are prefixed with its
# app id "heatwatch" (`heatwatch-<table>-changelog`, `heatwatch-__assignor-__leader`).
# The producer may create telemetry topics (`heatwatch produce` makes one when missing) and
# write to them, nothing else; the worker may read them but not write them.
setup_kafka_security() {
  secure || return 0
  [[ -f "$KAFKA_DIR/security-setup.done" ]] && return 0
  local props bs="127.0.0.1:$KAFKA_PORT" acl=(kafka.admin.AclCommand)
  props="$(admin_client_properties)"
  log "kafka: creating the ACLs (producer, worker)"
  acl+=(--bootstrap-server "$bs" --command-config "$props" --add --force)
  kafka_tool "${acl[@]}" --allow-principal User:producer --operation Write --operation Describe \
    --operation Create --resource-pattern-type prefixed --topic heatwatch.telemetry &&
    kafka_tool "${acl[@]}" --allow-principal User:worker --operation Read --operation Describe \
      --resource-pattern-type prefixed --topic heatwatch.telemetry &&
    kafka_tool "${acl[@]}" --allow-principal User:worker --operation Read --operation Write \
      --operation Describe --operation Create --operation DescribeConfigs \
      --resource-pattern-type prefixed --topic heatwatch.dead-letters --topic heatwatch.incidents \
      --topic heatwatch- &&
    kafka_tool "${acl[@]}" --allow-principal User:worker --operation Read --operation Describe \
      --resource-pattern-type prefixed --group heatwatch ||
    die "kafka: could not create the ACLs (see $LOG_DIR/kafka-setup.log)"
  touch "$KAFKA_DIR/security-setup.done"
}

# influx_curl ARGS...: curl with the operator token in a header read from stdin (not argv).
influx_curl() {
  printf 'header = "Authorization: Token %s"\n' "$INFLUX_TOKEN" | curl -K - "$@"
}

# resolve_operator_token [fresh]: the operator token: given, stored, generated for a fresh
# setup, or (a data dir set up before tokens were generated) the development token those used.
resolve_operator_token() {
  [[ -n "$INFLUX_PASSWORD" ]] || INFLUX_PASSWORD="$(secret influx-password)"
  if [[ -n "$INFLUX_TOKEN" ]]; then return 0; fi
  if [[ -s "$SECRETS_DIR/influx-operator-token" || "${1:-}" == fresh ]]; then
    INFLUX_TOKEN="$(secret influx-operator-token)"
  else
    INFLUX_TOKEN="heatwatch-dev-token" # legacy plaintext data dir; `stack.sh reset` replaces it
  fi
}

# influx_token_for NAME ACTION RESOURCE_JSON: create an authorization once, store its token.
influx_token_for() {
  local name="$1" action="$2" resource="$3" base="http://127.0.0.1:$INFLUX_PORT" org_id body
  [[ -s "$SECRETS_DIR/influx-$name-token" ]] && return 0
  org_id="$(influx_curl -fsS "$base/api/v2/orgs?org=$INFLUX_ORG" | json_get 'orgs.0.id')"
  body="$SECRETS_DIR/auth-request.json"
  printf '{"orgID":"%s","description":"heatwatch %s (%s)","permissions":[{"action":"%s","resource":%s}]}' \
    "$org_id" "$name" "$action" "$action" "${resource//@ORG@/$org_id}" >"$body"
  (umask 077 && influx_curl -fsS -X POST -H 'Content-Type: application/json' \
    --data-binary "@$body" "$base/api/v2/authorizations" | json_get token >"$SECRETS_DIR/influx-$name-token") ||
    die "influxdb: could not create the $name token"
  rm -f "$body"
}

# json_get PATH: a value from JSON on stdin (dotted path, numbers index lists).
json_get() {
  python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v=v[int(k)] if isinstance(v,list) else v[k]
print(v)' "$1"
}

setup_influx_tokens() {
  secure || return 0
  local base="http://127.0.0.1:$INFLUX_PORT" bucket_id
  bucket_id="$(influx_curl -fsS "$base/api/v2/buckets?name=$INFLUX_BUCKET&org=$INFLUX_ORG" | json_get 'buckets.0.id')"
  influx_token_for worker write "{\"type\":\"buckets\",\"id\":\"$bucket_id\",\"orgID\":\"@ORG@\"}"
  influx_token_for grafana read '{"type":"buckets","orgID":"@ORG@"}'
  influx_token_for report read '{"type":"buckets","orgID":"@ORG@"}'
}

# Role env files (secured stack): each component gets only its own credentials.
write_role_env() {
  secure || return 0
  local dir="$STACK_DIR/env" kafka_common
  kafka_common="export HEATWATCH_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
export HEATWATCH_KAFKA_SECURITY_PROTOCOL=SASL_SSL
export HEATWATCH_KAFKA_SSL_CAFILE=$SECRETS_DIR/ca.crt"
  local influx_common="export HEATWATCH_INFLUX_URL=http://127.0.0.1:$INFLUX_PORT
export HEATWATCH_INFLUX_ORG=$INFLUX_ORG
export HEATWATCH_INFLUX_BUCKET=$INFLUX_BUCKET"
  (
    umask 077
    mkdir -p "$dir"
    printf '%s\nexport HEATWATCH_KAFKA_SASL_USERNAME=worker\nexport HEATWATCH_KAFKA_SASL_PASSWORD=%s\n%s\nexport HEATWATCH_INFLUX_TOKEN=%s\n' \
      "$kafka_common" "$(secret kafka-worker-password)" "$influx_common" "$(cat "$SECRETS_DIR/influx-worker-token")" >"$dir/worker.env"
    printf '%s\nexport HEATWATCH_KAFKA_SASL_USERNAME=producer\nexport HEATWATCH_KAFKA_SASL_PASSWORD=%s\n' \
      "$kafka_common" "$(secret kafka-producer-password)" >"$dir/producer.env"
    printf '%s\nexport HEATWATCH_INFLUX_TOKEN=%s\n' "$influx_common" "$(cat "$SECRETS_DIR/influx-report-token")" >"$dir/report.env"
    printf '%s\nexport HEATWATCH_INFLUX_TOKEN=%s\n' "$influx_common" "$(cat "$SECRETS_DIR/influx-grafana-token")" >"$dir/grafana.env"
  )
}

# stack.env: the admin's settings, for tests and tools (0600 when it holds secrets).
write_env() {
  local kafka_lines="export HEATWATCH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT
export HEATWATCH_ALLOW_INSECURE=1"
  if secure; then
    kafka_lines="export HEATWATCH_KAFKA_SECURITY_PROTOCOL=SASL_SSL
export HEATWATCH_KAFKA_SSL_CAFILE=$SECRETS_DIR/ca.crt
export HEATWATCH_KAFKA_SASL_USERNAME=admin
export HEATWATCH_KAFKA_SASL_PASSWORD=$(secret kafka-admin-password)"
  fi
  (umask 077 && cat >"$ENV_FILE" <<EOF
# Generated by deploy/stack/stack.sh up - source it: . $ENV_FILE
# Stack security: $STACK_SECURITY. Admin credentials: for tests and tools, not for services
# (those use $STACK_DIR/env/<role>.env on a secured stack, docs/security.md).
export HEATWATCH_STACK_SECURITY=$STACK_SECURITY
export HEATWATCH_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
$kafka_lines
export HEATWATCH_INFLUX_URL=http://127.0.0.1:$INFLUX_PORT
export HEATWATCH_INFLUX_TOKEN=$INFLUX_TOKEN
export HEATWATCH_INFLUX_ORG=$INFLUX_ORG
export HEATWATCH_INFLUX_BUCKET=$INFLUX_BUCKET
EOF
  )
  write_role_env
}
