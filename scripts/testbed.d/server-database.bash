# scripts/testbed.d/server-database.bash — sourced by scripts/testbed: the private subnet (PostgreSQL as RDS, Redis as ElastiCache).
#
# It uses the variables and functions of scripts/testbed (ns, nsx, bg, RUNDIR,
# the *_ADDR address plan).
# shellcheck shell=bash

DATABASE_LISTENERS=("tcp $DB_ADDR:5432" "tcp $REDIS_ADDR:6379")

database_files() {
	leaf database database.internal "DNS:database.internal,IP:$DB_ADDR"
	write_database
}

write_database() {
	local d=$RUNDIR/database
	mkdir -p "$d/pg" "$d/pgsock" "$d/redis"
	openssl rand -hex 16 >"$d/redis.password"
	openssl rand -hex 16 >"$d/pg.password"
	chmod 600 "$d/redis.password" "$d/pg.password"
	# PostgreSQL runs as postgres with its own data dir, cert and socket dir.
	cp "$RUNDIR/pki/database.pem" "$d/pg/server.pem"
	cp "$RUNDIR/pki/database.key" "$d/pg/server.key"
	chmod 600 "$d/pg/server.key"
	chown -R postgres: "$d/pg" "$d/pgsock"
	# initdb costs 2-4 s; a cluster made once per PostgreSQL version and
	# copied costs 0.1 s. The per-instance password is set once it runs.
	cp -a "$(pg_template)" "$d/pg/data"
	# TLS only: hostssl lines and no `host` line, so a plaintext client gets
	# "no pg_hba.conf entry ... no encryption".
	cat >"$d/pg/data/pg_hba.conf" <<EOF
local   all all                 peer
hostssl all all $API_ADDR/32    scram-sha-256
hostssl all all $FS_ADDR/32     scram-sha-256
EOF
	cat >>"$d/pg/data/postgresql.conf" <<EOF
# scripts/testbed
listen_addresses = '$DB_ADDR'
port = 5432
unix_socket_directories = '$d/pgsock'
ssl = on
ssl_cert_file = '$d/pg/server.pem'
ssl_key_file = '$d/pg/server.key'
fsync = off
logging_collector = off
EOF
	chown redis: "$d/redis"
	cat >"$d/redis/redis.conf" <<EOF
# Redis for the testbed (ElastiCache stand-in): password required.
bind $REDIS_ADDR
port 6379
protected-mode yes
requirepass $(cat "$d/redis.password")
daemonize yes
pidfile $d/redis/redis.pid
logfile $d/redis/redis.log
dir $d/redis
save ""
appendonly no
EOF
	chown redis: "$d/redis/redis.conf"
	chmod 600 "$d/redis/redis.conf"
}

pg_template() {
	local bindir t tmp
	bindir=$(pg_bindir)
	t=$CACHE/pgdata-$(basename "$(dirname "$bindir")")
	if [[ ! -f $t/PG_VERSION ]]; then
		mkdir -p "$CACHE"
		tmp=$(mktemp -d "$CACHE/pg.XXXXXX")
		chown postgres: "$tmp"
		chmod 700 "$tmp"
		# trust is replaced by pg_hba.conf below; initdb wants a password for
		# scram here and the password is per instance.
		setpriv --reuid=postgres --regid=postgres --init-groups -- \
			"$bindir/initdb" -D "$tmp" -U postgres --auth-local=peer --auth-host=trust \
			-E UTF8 --no-sync >"$RUNDIR/database/initdb.log" 2>&1 ||
			{ rm -rf "$tmp"; die "initdb failed: $(tail -3 "$RUNDIR/database/initdb.log")"; }
		cache_commit "$tmp" "$t"
	fi
	printf '%s' "$t"
}

# set_pg_password: the per-instance password of the postgres role, over the
# private unix socket (peer auth), read from a file rather than argv.
set_pg_password() {
	local d=$RUNDIR/database
	printf "ALTER ROLE postgres PASSWORD '%s';\n" "$(cat "$d/pg.password")" |
		nsx database setpriv --reuid=postgres --regid=postgres --init-groups -- \
			psql -X -q -h "$d/pgsock" -U postgres -d postgres -v ON_ERROR_STOP=1 -f - >/dev/null ||
		die "could not set the postgres password"
}

database_start() {
	nsx database setpriv --reuid=postgres --regid=postgres --init-groups -- \
		"$(pg_bindir)/pg_ctl" -D "$RUNDIR/database/pg/data" -l "$RUNDIR/database/pg/postgres.log" -w -t 30 start >/dev/null
	nsx database setpriv --reuid=redis --regid=redis --init-groups -- redis-server "$RUNDIR/database/redis/redis.conf"
}

# database_ready: what needs the servers running (the per-instance password).
database_ready() {
	set_pg_password
}
