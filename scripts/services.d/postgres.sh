# PostgreSQL for scripts/services: a throwaway cluster of its own under
# $BIAFLOWS_SERVICES_DIR/postgres, listening only on 127.0.0.1:$BIAFLOWS_PG_PORT
# (default 55432) and on a socket folder of its own, trust authentication
# (it is throwaway), with a role and a database named biaflows.
# shellcheck shell=bash

pg_dir() { echo "$BIAFLOWS_SERVICES_DIR/postgres"; }
pg_port() { echo "${BIAFLOWS_PG_PORT:-55432}"; }
pg_url() { echo "postgresql://biaflows@127.0.0.1:$(pg_port)/biaflows"; }

# The PostgreSQL programs (initdb, pg_ctl are not on PATH on Debian).
pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
	done
	return 1
}

# Run a command as the owner of the cluster (postgres when we are root:
# initdb and postgres refuse to run as root).
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_ready() {
	"$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$(pg_port)" -d postgres
}

postgres_status() {
	local d
	d=$(pg_dir)
	[ -f "$d/data/postmaster.pid" ] && pg_bin >/dev/null && pg_ready
}

postgres_up() {
	local d bin port
	d=$(pg_dir)
	port=$(pg_port)
	if postgres_status; then
		pg_url
		return 0
	fi
	svc_install postgresql-15 libpq-dev
	bin=$(pg_bin) || { echo "services: postgres: no pg_ctl found" >&2; return 1; }
	mkdir -p "$d/sock"
	[ "$(id -u)" -eq 0 ] && chown -R postgres: "$d"
	if [ ! -f "$d/data/PG_VERSION" ]; then
		pg_as "$bin/initdb" -D "$d/data" -U postgres --auth=trust -E UTF8 \
			--locale=C.UTF-8 >"$d/initdb.log" 2>&1 ||
			{ cat "$d/initdb.log" >&2; return 1; }
		cat >"$d/data/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 trust
HBA
		[ "$(id -u)" -eq 0 ] && chown postgres: "$d/data/pg_hba.conf"
	fi
	pg_as "$bin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$d/sock -c max_connections=300 -c fsync=off" \
		start >/dev/null || { tail -20 "$d/server.log" >&2; return 1; }
	svc_wait 30 pg_ready || { echo "services: postgres did not become ready on 127.0.0.1:$port" >&2; return 1; }
	local psql=("$bin/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres)
	"${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'biaflows'" | grep -q 1 ||
		"${psql[@]}" -c "CREATE ROLE biaflows LOGIN" >&2
	"${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'biaflows'" | grep -q 1 ||
		"${psql[@]}" -c "CREATE DATABASE biaflows OWNER biaflows" >&2
	pg_url
}

postgres_down() {
	local d bin
	d=$(pg_dir)
	if [ -f "$d/data/postmaster.pid" ] && bin=$(pg_bin); then
		pg_as "$bin/pg_ctl" -D "$d/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$d"
}

postgres_env() {
	echo "BIAFLOWS_DATABASE=$(pg_url)"
}
