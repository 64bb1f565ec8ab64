# scripts/testbed.d/server-database.bash — sourced by scripts/testbed: the private subnet (PostgreSQL as RDS, Redis as ElastiCache).
#
# Healthy, the data tier is what the security document promises: PostgreSQL
# speaks TLS and takes no connection without it (hostssl lines only, as RDS
# with rds.force_ssl), Redis speaks only TLS on 6379 and wants a password
# (ElastiCache with in-transit encryption and AUTH). The profiles where the
# data tier itself is wrong keep after's security groups and change the
# servers instead (database_profile):
#
#   pg-plaintext   PostgreSQL also takes passwords without TLS (a `host` line
#                  beside each `hostssl` one)
#   redis-nopass   Redis over TLS, without a password (and no protected mode,
#                  as on ElastiCache)
#   redis-notls    Redis with a password, without TLS
#
# It uses the variables and functions of scripts/testbed (ns, nsx, bg, RUNDIR,
# the *_ADDR address plan).
# shellcheck shell=bash

# shellcheck disable=SC2034 # read by listeners() in scripts/testbed
DATABASE_LISTENERS=("tcp $DB_ADDR:5432" "tcp $REDIS_ADDR:6379")
DATABASE_PROFILES=(pg-plaintext redis-nopass redis-notls)

database_files() {
	leaf database database.internal "DNS:database.internal,IP:$DB_ADDR"
	leaf redis redis.internal "DNS:redis.internal,IP:$REDIS_ADDR"
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
	# Redis reads its certificate as the redis user.
	cp "$RUNDIR/pki/redis.pem" "$d/redis/server.pem"
	cp "$RUNDIR/pki/redis.key" "$d/redis/server.key"
	chmod 600 "$d/redis/server.key"
	chown -R redis: "$d/redis"
	database_configs healthy
	echo healthy >"$d/profile"
}

# database_kind PROFILE: the data tier a profile has: one of
# DATABASE_PROFILES, or healthy.
database_kind() {
	local p
	for p in "${DATABASE_PROFILES[@]}"; do
		[[ $1 == "$p" ]] && { echo "$p"; return 0; }
	done
	echo healthy
}

# database_configs KIND: pg_hba.conf and redis.conf for that data tier.
database_configs() {
	local d=$RUNDIR/database kind=$1 src
	{
		echo "local   all all                 peer"
		for src in "$API_PRIV" "$FS_PRIV"; do # the servers reach it by their private addresses
			# TLS only: hostssl lines and no `host` line, so a plaintext
			# client gets "no pg_hba.conf entry ... no encryption".
			echo "hostssl all all $src/32    scram-sha-256"
			if [[ $kind == pg-plaintext ]]; then
				echo "host    all all $src/32    scram-sha-256"
			fi
		done
	} >"$d/pg/data/pg_hba.conf"
	chown postgres: "$d/pg/data/pg_hba.conf"
	{
		echo "# Redis for the testbed (ElastiCache stand-in): $kind."
		echo "bind $REDIS_ADDR"
		if [[ $kind == redis-notls ]]; then
			echo "port 6379"
		else
			echo "port 0"
			echo "tls-port 6379"
			echo "tls-cert-file $d/redis/server.pem"
			echo "tls-key-file $d/redis/server.key"
			echo "tls-auth-clients no"
		fi
		if [[ $kind == redis-nopass ]]; then
			echo "protected-mode no"
		else
			echo "protected-mode yes"
			echo "requirepass $(cat "$d/redis.password")"
		fi
		echo "daemonize yes"
		echo "pidfile $d/redis/redis.pid"
		echo "logfile $d/redis/redis.log"
		echo "dir $d/redis"
		echo 'save ""'
		echo "appendonly no"
	} >"$d/redis/redis.conf"
	chown redis: "$d/redis/redis.conf"
	chmod 600 "$d/redis/redis.conf"
}

# database_profile PROFILE: the data tier as the profile has it, called each
# time a profile is applied. Before the servers start it only writes their
# configs; once they run, and only when the data tier changes, PostgreSQL
# rereads pg_hba.conf and Redis restarts (its ports and TLS are not changed
# live), and it returns once both have.
database_profile() {
	local d=$RUNDIR/database kind was
	kind=$(database_kind "$1")
	was=$(cat "$d/profile" 2>/dev/null || echo healthy)
	[[ $kind == "$was" ]] && return 0
	database_configs "$kind"
	echo "$kind" >"$d/profile"
	[[ -f $d/redis/redis.pid ]] || return 0
	database_reload_pg
	database_restart_redis
}

# database_reload_pg: PostgreSQL rereads pg_hba.conf; waits until the
# postmaster has handled the SIGHUP (it logs each one).
database_reload_pg() {
	local log=$RUNDIR/database/pg/postgres.log n tries=200
	n=$(grep -c 'received SIGHUP' "$log" 2>/dev/null || true)
	nsx database setpriv --reuid=postgres --regid=postgres --init-groups -- \
		"$(pg_bindir)/pg_ctl" -D "$RUNDIR/database/pg/data" reload >/dev/null
	while (($(grep -c 'received SIGHUP' "$log" 2>/dev/null || true) <= n)); do
		((--tries > 0)) || die "PostgreSQL did not reload pg_hba.conf (its log: $log)"
		sleep 0.05
	done
}

# database_restart_redis: Redis stops (by its pid file), starts again with
# its config, and is waited for until it listens.
database_restart_redis() {
	local d=$RUNDIR/database pid tries=200
	pid=$(cat "$d/redis/redis.pid" 2>/dev/null || true)
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null; do
			((--tries > 0)) || die "Redis ($pid) did not stop"
			sleep 0.05
		done
	fi
	# The daemon must not inherit (and hold) the testbed lock, fd 9.
	nsx database setpriv --reuid=redis --regid=redis --init-groups -- redis-server "$d/redis/redis.conf" 9>&-
	tries=200
	until listening database tcp "$REDIS_ADDR:6379"; do
		((--tries > 0)) || die "Redis did not listen again (its log: $d/redis/redis.log)"
		sleep 0.05
	done
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
