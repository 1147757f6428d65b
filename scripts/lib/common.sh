# Shared by scripts/run, scripts/test and scripts/bench. Source it; do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

DEBIAN_PACKAGES=(
  cmake ninja-build g++ ccache pkg-config
  libcaf-dev libboost1.81-dev libboost-program-options1.81-dev
  nlohmann-json3-dev libspdlog-dev catch2 libpq-dev libssl-dev libcpp-jwt-dev
  postgresql-15 postgresql-client-15 python3 curl
)

log() { printf '\033[1m[%s]\033[0m %s\n' "$(basename "$0")" "$*" >&2; }

# Installs whatever Debian package is missing (as root directly, else via sudo).
ensure_packages() {
  local missing=() p
  for p in "${DEBIAN_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configures and builds one CMake preset; prints its build directory.
build_preset() {
  local preset="$1"; shift
  cmake --preset "$preset" -S "$ROOT" >/dev/null
  cmake --build --preset "$preset" "$@" >&2
}

pg_bindir() { "$(command -v pg_config || echo /usr/lib/postgresql/15/bin/pg_config)" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Runs a PostgreSQL command as the cluster's owner: root cannot run initdb.
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start DIR PORT: initialises (once) and starts a private cluster.
pg_start() {
  local dir="$1" port="$2" bin
  bin="$(pg_bindir)"
  [ -x "$bin/initdb" ] || bin=/usr/lib/postgresql/15/bin
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
  fi
  as_pg_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  as_pg_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='boxoffice'" | grep -q 1 ||
    as_pg_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres boxoffice
}

pg_stop() {
  local dir="$1" bin
  bin="$(pg_bindir)"
  [ -x "$bin/pg_ctl" ] || bin=/usr/lib/postgresql/15/bin
  [ -f "$dir/data/postmaster.pid" ] && as_pg_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
}
