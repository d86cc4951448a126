# Shared by scripts/build-image and scripts/run-pod: tools from Debian, container configuration
# kept in a work directory (nothing in /etc/containers changes), and a loopback registry.
# Source it; it defines functions only.

# Prints why a check cannot run here and ends the script successfully.
skip() {
  echo "SKIPPED: $*" >&2
  exit 0
}

# Installs the Debian packages whose commands are missing (pairs of COMMAND:PACKAGE).
install_tools() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || skip "needs root to install ${missing[*]} with apt-get (or install them first)"
  command -v apt-get >/dev/null 2>&1 || skip "no apt-get to install ${missing[*]}"
  echo "installing ${missing[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Container storage and engine settings under $1, through the environment only: vfs storage,
# runc, cgroupfs, and ulimits under this machine's hard limits (runc cannot raise them here).
containers_env() {
  local work=$1
  mkdir -p "$work/run" "$work/storage" "$work/tmp"
  cat >"$work/storage.conf" <<CONF
[storage]
driver = "vfs"
runroot = "$work/run"
graphroot = "$work/storage"
CONF
  local nofile nproc
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] || [ "$nofile" -gt 1024 ] && nofile=1024
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 1024 ] && nproc=1024
  cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$work/tmp"
CONF
  printf 'unqualified-search-registries = []\n' >"$work/registries.conf"
  export CONTAINERS_STORAGE_CONF="$work/storage.conf" CONTAINERS_CONF="$work/containers.conf"
  export CONTAINERS_REGISTRIES_CONF="$work/registries.conf" TMPDIR="$work/tmp"
}

# A free loopback port.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts docker-registry on 127.0.0.1:$2 with storage under $1; sets REGISTRY_PID.
start_registry() {
  local dir=$1 port=$2
  mkdir -p "$dir/data"
  cat >"$dir/registry.yml" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
CONF
  docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
  REGISTRY_PID=$!
  wait_http "http://127.0.0.1:$port/v2/" 20 || { cat "$dir/registry.log" >&2; return 1; }
}

# Waits up to $2 seconds for a 200 from $1.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# The weft binary to put in the image: $WEFT_BINARY, else the dev-profile build the tests share.
weft_binary() {
  if [ -n "${WEFT_BINARY:-}" ]; then
    echo "$WEFT_BINARY"
    return
  fi
  cargo build --locked -q -p weft >&2
  echo "${CARGO_TARGET_DIR:-$PWD/target}/debug/weft"
}
