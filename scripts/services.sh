#!/usr/bin/env bash
# scripts/services.sh — make sure every database server the test suite needs is
# installed, started and answering; then exit 0.
#
# Idempotent: a server that already answers is left alone. If a server cannot be
# installed, started or reached within the timeout, this script FAILS (non-zero
# exit, message on stderr). It never skips a requested service.
#
# Which services are ensured
# --------------------------
#   WASTORE_SERVICES  space- or comma-separated list, from: postgres mariadb redis mongo
#                     (aliases: postgresql, pg, mysql, mongodb).
#                     Default: the set the current tests need (see DEFAULT_SERVICES).
#   WASTORE_SERVICE_TIMEOUT  seconds to wait for each server to answer (default 60).
#
# The default is what the test suite exercises: when a backend adds tests against
# a server, that server's name joins DEFAULT_SERVICES below in the same change.
#
# Endpoints the tests may rely on once enabled:
#   postgres  127.0.0.1:5432, user postgres, trust auth (no password)
#   mariadb   127.0.0.1:3306, user root, no password
#   redis     127.0.0.1:6379, no auth, no persistence (tests use their own key
#             prefixes and delete only their own keys; nothing is flushed)
#   mongo     127.0.0.1:27017, no auth: nx-27017 (a MongoDB-wire-protocol server
#             backed by SQLite, from PyPI, pinned) in a virtualenv, because Debian
#             ships no MongoDB server. Test database: wastore_test.
set -euo pipefail

DEFAULT_SERVICES="postgres mariadb redis mongo"   # grows with the tests

TIMEOUT="${WASTORE_SERVICE_TIMEOUT:-60}"
TEST_DB=wastore_test   # the database the test suites use (see scripts/test.sh)
TEST_USER=wastore      # an unprivileged user that owns it (no password, loopback only)
PG_PORT=5432
MARIADB_PORT=3306
REDIS_PORT=6379
MONGO_PORT=27017
NX_VERSION=0.8.1    # nx-27017, and its dependencies, pinned: a server the tests can trust to stay the same
NX_PINS="nx-27017==$NX_VERSION neosqlite==1.17.2 pymongo==4.20.0 dnspython==2.9.2"
NX_VENV="${WASTORE_NX_VENV:-/opt/wastore-nx27017}"
NX_DATA=/var/lib/wastore-nx27017
NX_LOG=/var/log/wastore-nx27017/server.log

log()  { printf '[services] %s\n' "$*"; }
die()  { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command as root (directly, or via sudo when we are not root).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root (or passwordless sudo) to run: $*"
  fi
}

# Run a command as another OS user (postgres, mysql).
as_user() {
  local user="$1"; shift
  if [ "$(id -un)" = "$user" ]; then
    "$@"
  elif [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null 2>&1; then
    runuser -u "$user" -- "$@"
  else
    as_root su -s /bin/sh "$user" -c "$(printf '%q ' "$@")"
  fi
}

# wait_for <description> <command...>: retry the command until it succeeds or
# TIMEOUT seconds have passed.
wait_for() {
  local what="$1"; shift
  local deadline=$(( $(date +%s) + TIMEOUT ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      return 1
    fi
    sleep 0.5
  done
  log "$what is answering"
}

APT_UPDATED=0
# apt_install <binary-to-check> <package...>: install the packages when the binary
# is missing. Runs `apt-get update` once, and only when needed (no package lists,
# or the package has no install candidate).
apt_install() {
  local bin="$1"; shift
  if command -v "$bin" >/dev/null 2>&1 || [ -x "$bin" ]; then
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || die "'$bin' is missing and apt-get is not available to install: $*"
  log "'$bin' not found; installing: $*"
  apt_packages "$@"
  command -v "$bin" >/dev/null 2>&1 || [ -x "$bin" ] || die "installed $* but '$bin' is still missing"
}

# apt_packages <package...>: install the packages (no binary to check).
apt_packages() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get is not available to install: $*"
  local need_update=0 pkg
  if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    need_update=1
  else
    for pkg in "$@"; do
      if ! grep -q 'Candidate: [^(]' <<<"$(apt-cache policy "$pkg" 2>/dev/null)"; then
        need_update=1
      fi
    done
  fi
  if [ "$need_update" -eq 1 ] && [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    || die "apt-get install $* failed"
}

# ---------------------------------------------------------------- PostgreSQL --
pg_answers() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
pg_login()   { [ "$(psql -X -w -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc 'SELECT 1')" = 1 ]; }

ensure_postgres() {
  apt_install pg_ctlcluster postgresql
  command -v pg_isready >/dev/null 2>&1 || die "pg_isready missing (postgresql-client not installed?)"

  local ver
  ver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1 || true)"
  if [ -z "$ver" ]; then
    # Server binaries but no cluster (e.g. create_main_cluster=false): make one.
    ver="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1 || true)"
    [ -n "$ver" ] || die "PostgreSQL installed but no version found in /usr/lib/postgresql"
    log "creating PostgreSQL cluster $ver/main"
    as_root pg_createcluster --port="$PG_PORT" "$ver" main || die "pg_createcluster $ver main failed"
  fi

  if pg_answers; then
    log "postgres already running (127.0.0.1:$PG_PORT)"
  else
    log "starting PostgreSQL $ver/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start \
      || pg_answers \
      || die "could not start PostgreSQL ($ver/main); see /var/log/postgresql/postgresql-$ver-main.log"
    wait_for "postgres (127.0.0.1:$PG_PORT)" pg_answers \
      || die "PostgreSQL did not answer on 127.0.0.1:$PG_PORT within ${TIMEOUT}s; see /var/log/postgresql/postgresql-$ver-main.log"
  fi

  # Tests log in as postgres over TCP with no password (trust). A fresh Debian
  # cluster uses scram-sha-256 for host connections: add trust lines for loopback.
  if ! pg_login 2>/dev/null; then
    local hba="/etc/postgresql/$ver/main/pg_hba.conf"
    [ -f "$hba" ] || die "cannot log in to PostgreSQL as postgres and $hba does not exist"
    log "enabling trust auth for 127.0.0.1 / ::1 in $hba"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload || die "PostgreSQL reload failed"
    wait_for "postgres login (user postgres, trust)" pg_login \
      || die "PostgreSQL answers but 'psql -h 127.0.0.1 -U postgres' (no password) fails"
  fi
  prepare_pg_test_db
  log "postgres ready: postgres://$TEST_USER@127.0.0.1:$PG_PORT/$TEST_DB"
}

# The test database; with --fresh-test-databases it is dropped and recreated, so
# every `npm test` starts from an empty schema.
prepare_pg_test_db() {
  local psql_=(psql -X -w -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1)
  if [ "$FRESH" = 1 ]; then
    "${psql_[@]}" -c "DROP DATABASE IF EXISTS $TEST_DB WITH (FORCE)" || die "could not drop PostgreSQL database $TEST_DB"
  fi
  if [ "$("${psql_[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$TEST_USER'")" != 1 ]; then
    "${psql_[@]}" -c "CREATE ROLE $TEST_USER LOGIN" || die "could not create PostgreSQL role $TEST_USER"
  fi
  if [ "$("${psql_[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$TEST_DB'")" != 1 ]; then
    "${psql_[@]}" -c "CREATE DATABASE $TEST_DB OWNER $TEST_USER" || die "could not create PostgreSQL database $TEST_DB"
  fi
}

# ------------------------------------------------------------------- MariaDB --
# The server answers on TCP. `mariadb-admin ping` exits 0 even on "Access denied",
# but not on "Host ... is not allowed to connect" (1130): that still proves the
# server is up, and the login check below repairs the grants.
mariadb_answers() {
  local out
  out="$(mariadb-admin --protocol=tcp -h 127.0.0.1 -P "$MARIADB_PORT" -uroot --connect-timeout=2 ping 2>&1)" && return 0
  grep -qE 'is not allowed to connect|Access denied' <<<"$out"
}
# The login the tests use: root over TCP, no password.
mariadb_login() { [ "$(mariadb --protocol=tcp -h 127.0.0.1 -P "$MARIADB_PORT" -uroot -N -e 'SELECT 1')" = 1 ]; }

ensure_mariadb() {
  apt_install /usr/sbin/mariadbd mariadb-server mariadb-client
  command -v mariadb-admin >/dev/null 2>&1 || die "mariadb-admin missing (mariadb-client not installed?)"

  if mariadb_answers >/dev/null 2>&1; then
    log "mariadb already running (127.0.0.1:$MARIADB_PORT)"
  else
    as_root install -d -o mysql -g mysql -m 0755 /run/mysqld
    as_root install -d -o mysql -g adm -m 2750 /var/log/mysql
    if [ ! -d /var/lib/mysql/mysql ]; then
      log "initialising MariaDB data directory /var/lib/mysql"
      as_root install -d -o mysql -g mysql -m 0755 /var/lib/mysql
      as_root mariadb-install-db --user=mysql --datadir=/var/lib/mysql \
        --auth-root-authentication-method=normal --skip-test-db >/dev/null \
        || die "mariadb-install-db failed"
    fi
    log "starting MariaDB"
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql \
      || die "could not start /usr/sbin/mariadbd"
    wait_for "mariadb (127.0.0.1:$MARIADB_PORT)" mariadb_answers \
      || die "MariaDB did not answer on 127.0.0.1:$MARIADB_PORT within ${TIMEOUT}s; see /var/log/mysql/error.log"
  fi

  # Tests log in as root over TCP with no password. Fix the grants through the
  # unix socket (OS root) when that login fails, e.g. on a fresh Debian install
  # where root@localhost is unix_socket-only.
  if ! mariadb_login 2>/dev/null; then
    log "granting passwordless TCP access to root@127.0.0.1 / root@localhost"
    as_root mariadb -uroot -e "
      CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
      ALTER USER 'root'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
      GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
      ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;
      FLUSH PRIVILEGES;" \
      || die "MariaDB answers but root cannot log in over TCP without a password, and fixing the grants via the unix socket failed"
    mariadb_login || die "MariaDB answers but 'mariadb -h 127.0.0.1 -uroot' (no password) still fails"
  fi
  prepare_mariadb_test_db
  log "mariadb ready: mysql://$TEST_USER@127.0.0.1:$MARIADB_PORT/$TEST_DB"
}

prepare_mariadb_test_db() {
  local sql="CREATE DATABASE IF NOT EXISTS $TEST_DB CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
    CREATE USER IF NOT EXISTS '$TEST_USER'@'127.0.0.1';
    CREATE USER IF NOT EXISTS '$TEST_USER'@'localhost';
    GRANT ALL PRIVILEGES ON $TEST_DB.* TO '$TEST_USER'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON $TEST_DB.* TO '$TEST_USER'@'localhost';"
  [ "$FRESH" = 1 ] && sql="DROP DATABASE IF EXISTS $TEST_DB; $sql"
  mariadb --protocol=tcp -h 127.0.0.1 -P "$MARIADB_PORT" -uroot -e "$sql" \
    || die "could not prepare MariaDB database $TEST_DB"
}

# --------------------------------------------------------------------- Redis --
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

ensure_redis() {
  apt_install redis-server redis-server
  command -v redis-cli >/dev/null 2>&1 || apt_install redis-cli redis-tools

  if redis_answers; then
    log "redis already running (127.0.0.1:$REDIS_PORT)"
  else
    as_root install -d -m 0755 /var/lib/redis
    as_root install -d -m 2750 /var/log/redis
    log "starting Redis"
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
      --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
      || die "could not start redis-server"
    wait_for "redis (127.0.0.1:$REDIS_PORT)" redis_answers \
      || die "Redis did not answer PONG on 127.0.0.1:$REDIS_PORT within ${TIMEOUT}s; see /var/log/redis/ci.log"
  fi
  log "redis ready: redis://127.0.0.1:$REDIS_PORT"
}

# ---------------------------------------------------------- MongoDB (wire) --
# nx-27017 speaks the MongoDB wire protocol over SQLite files (one per database
# under $NX_DATA). It is a stand-in for tests: see __test__/README.md for what it
# cannot prove about a real MongoDB server.
nx_python() { "$NX_VENV/bin/python" "$@"; }
# A real handshake + ping with the venv's pymongo (bounded by a 2 s server selection).
mongo_answers() {
  nx_python -c "import sys; from pymongo import MongoClient
c = MongoClient('mongodb://127.0.0.1:$MONGO_PORT', serverSelectionTimeoutMS=2000, connectTimeoutMS=2000)
sys.exit(0 if c.admin.command('ping').get('ok') == 1 else 1)"
}
nx_installed() {
  [ -x "$NX_VENV/bin/nx-27017" ] && [ "$("$NX_VENV/bin/pip" show nx-27017 2>/dev/null | sed -n 's/^Version: //p')" = "$NX_VERSION" ]
}

ensure_mongo() {
  if ! nx_installed; then
    apt_install python3 python3 python3-venv
    python3 -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 15) else 1)' \
      || die "nx-27017 $NX_VERSION needs Python 3.10 to 3.14; python3 is $(python3 --version 2>&1)"
    log "installing nx-27017 $NX_VERSION into $NX_VENV"
    if ! python3 -m venv "$NX_VENV" >/dev/null 2>&1; then
      # Debian splits venv/ensurepip out of python3.
      apt_packages python3-venv
      rm -rf "$NX_VENV"
      python3 -m venv "$NX_VENV" || die "python3 -m venv $NX_VENV failed"
    fi
    "$NX_VENV/bin/pip" install --disable-pip-version-check -q $NX_PINS \
      || die "pip install $NX_PINS into $NX_VENV failed"
    nx_installed || die "installed nx-27017 but $NX_VENV/bin/nx-27017 $NX_VERSION is still missing"
  fi

  if mongo_answers >/dev/null 2>&1; then
    log "mongo (nx-27017) already running (127.0.0.1:$MONGO_PORT)"
  else
    as_root install -d -m 0755 "$NX_DATA" "$(dirname "$NX_LOG")"
    log "starting nx-27017 $NX_VERSION (data in $NX_DATA)"
    # -d double-forks into the background; --data-dir keeps one SQLite file per database.
    as_root "$NX_VENV/bin/nx-27017" -d --host 127.0.0.1 -p "$MONGO_PORT" --data-dir "$NX_DATA" \
      --db "$NX_DATA/default.db" --log-file "$NX_LOG" --pid-file "$NX_DATA/nx-27017.pid" \
      || die "could not start nx-27017; see $NX_LOG"
    wait_for "mongo (nx-27017, 127.0.0.1:$MONGO_PORT)" mongo_answers \
      || die "nx-27017 did not answer a ping on 127.0.0.1:$MONGO_PORT within ${TIMEOUT}s; see $NX_LOG: $(tail -n 5 "$NX_LOG" 2>/dev/null)"
  fi
  if [ "$FRESH" = 1 ]; then
    nx_python -c "from pymongo import MongoClient
MongoClient('mongodb://127.0.0.1:$MONGO_PORT', serverSelectionTimeoutMS=5000).drop_database('$TEST_DB')" \
      || die "could not drop the MongoDB test database $TEST_DB"
  fi
  log "mongo ready: mongodb://127.0.0.1:$MONGO_PORT (test database $TEST_DB)"
}

# ---------------------------------------------------------------------- main --
main() {
  FRESH=0
  case "${1:-}" in
    --fresh-test-databases) FRESH=1 ;;
    "") ;;
    *) die "unknown argument '$1' (use --fresh-test-databases or nothing)" ;;
  esac
  local requested="${WASTORE_SERVICES-$DEFAULT_SERVICES}"
  requested="${requested//,/ }"
  local services=() s
  for s in $requested; do
    case "$s" in
      postgres|postgresql|pg) services+=(postgres) ;;
      mariadb|mysql)          services+=(mariadb) ;;
      redis)                  services+=(redis) ;;
      mongo|mongodb)          services+=(mongo) ;;
      *) die "unknown service '$s' in WASTORE_SERVICES (known: postgres mariadb redis mongo)" ;;
    esac
  done

  if [ "${#services[@]}" -eq 0 ]; then
    log "no database servers needed (memory + embedded SQLite only)"
    return 0
  fi

  log "ensuring: ${services[*]} (timeout ${TIMEOUT}s each)"
  for s in "${services[@]}"; do
    "ensure_$s"
  done
  log "all services ready: ${services[*]}"
}

main "$@"
