# scripts/testbed.d/server-api.bash — sourced by scripts/testbed: the API server (sshd, nginx, the app on 127.0.0.1:3000).
#
# It uses the variables and functions of scripts/testbed (ns, nsx, bg, RUNDIR,
# the *_ADDR address plan).
# shellcheck shell=bash

# The listening sockets `up` waits for: PROTO ADDR:PORT.
# shellcheck disable=SC2034 # read by listeners() in scripts/testbed
API_LISTENERS=("tcp 0.0.0.0:22" "tcp 0.0.0.0:80" "tcp 0.0.0.0:443" "tcp 127.0.0.1:3000")

api_files() {
	leaf api "$TLS_NAME" "DNS:$TLS_NAME,IP:$API_ADDR,IP:$API_PRIV"
	write_sshd api
	write_nginx
}

write_nginx() {
	local d=$RUNDIR/api/nginx
	mkdir -p "$d/tmp"
	chown www-data: "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
# nginx for the testbed's API server: 80 redirects, 443 proxies to the app.
user www-data;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
	access_log $d/access.log;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	server {
		listen 80 default_server;
		server_name $TLS_NAME;
		return 301 https://\$host\$request_uri;
	}
	server {
		listen 443 ssl default_server;
		server_name $TLS_NAME;
		ssl_certificate $RUNDIR/pki/api.pem;
		ssl_certificate_key $RUNDIR/pki/api.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
		location / {
			proxy_pass http://127.0.0.1:3000;
			proxy_set_header Host \$host;
		}
	}
}
EOF
}

api_start() {
	bg api app setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$RUNDIR/bin/app" -listen 127.0.0.1:3000
	nsx api /usr/sbin/sshd -f "$RUNDIR/api/sshd_config" -E "$RUNDIR/api/sshd.log"
	nsx api nginx -p "$RUNDIR/api/nginx" -c "$RUNDIR/api/nginx/nginx.conf" -e "$RUNDIR/api/nginx/error.log"
}
