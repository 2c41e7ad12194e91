#!/bin/sh
# One nginx replica for zerodrop's process runtime (bring your own service: nginx from Debian's
# packages, unmodified). zerodrop passes the port in $PORT; this writes a config for it in a temp
# directory (pid, temp paths, the config: nothing outside it) and execs nginx in the foreground,
# so the stop signal zerodrop sends (target.stopSignal) reaches nginx's master itself:
#   SIGQUIT  graceful shutdown: stop accepting, finish what is in flight, exit
#   SIGTERM  fast shutdown: exit now, cutting responses in flight
# nginx does not echo x-zerodrop-id: the data plane attests the ids (target.echoesId: false).
# NGINX_KEEPALIVE: keepalive_timeout (default 65s; 0 = a connection per request).
# Routes: /ready and /live (probes), /slow (2,300 bytes at 1 KiB/s: ≈ 2.3 s in flight), / (hello).
set -eu
: "${PORT:?PORT must be set (zerodrop sets it: target.port { env: PORT })}"
NGINX=${NGINX:-/usr/sbin/nginx}
# NGINX_DIR: a directory of your choosing (to reload or inspect this nginx); default a new temp dir.
# exec leaves no one to remove the temp dir when nginx exits: sweep those of replicas a day old.
find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'zerodrop-nginx.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
if [ -n "${NGINX_DIR:-}" ]; then dir=$NGINX_DIR; mkdir -p "$dir"; else dir=$(mktemp -d "${TMPDIR:-/tmp}/zerodrop-nginx.XXXXXX"); fi
chmod 755 "$dir"  # workers run as nobody when started by root
head -c 2300 /dev/zero | tr '\0' 'z' > "$dir/slow.txt"
cat > "$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type text/plain;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  # Longer than any client's idle limit (contract rule 2: the client gives up an idle connection first).
  keepalive_timeout ${NGINX_KEEPALIVE:-65s};
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$PORT;
    location = /ready { return 200 "ready\n"; }
    location = /live { return 200 "live\n"; }
    location = /slow { limit_rate_after 0; limit_rate 1k; alias $dir/slow.txt; }
    location / { return 200 "hello from nginx ${APP_VERSION:-v1} (${REPLICA_ID:-replica})\n"; }
  }
}
EOF
exec "$NGINX" -e stderr -p "$dir/" -c "$dir/nginx.conf"
