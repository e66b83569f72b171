#!/usr/bin/env bash
# One entry point for people and CI:
#   ./dev.sh serve   set up, migrate, run the app (seeding the demo in the background the
#                    first time)
#   ./dev.sh test    set up, then ruff, mypy, lint-imports, tsc + eslint on the scripts, the
#                    whole pytest suite
# Both install what they need: a virtualenv, Python packages, hls.js (npm), ffmpeg and
# (for tests) Chromium from the system package manager when missing.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="$ROOT/.venv"

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

setup_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtualenv in .venv"
    "$(find_python)" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    say "installing Python packages"
    "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -m pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -c "import microdrama, fastapi, sqlalchemy, playwright" # fail loudly
    rm -f "$VENV"/.installed-*
    touch "$stamp"
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

cmd=${1:-serve}
shift || true
case "$cmd" in
  serve)
    setup_python
    setup_frontend
    setup_media_tools
    "$VENV/bin/microdrama" migrate
    # The server answers as soon as the schema is migrated; on first run the demo series are
    # made in the background and each appears in the feed as soon as it is ready.
    exec "$VENV/bin/microdrama" serve --seed-demo "$@"
    ;;
  test)
    setup_python
    setup_frontend
    setup_media_tools
    setup_browser
    say "ruff"
    "$VENV/bin/ruff" check src tests bench migrations
    "$VENV/bin/ruff" format --check src tests bench migrations
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
    setup_python
    setup_frontend
    setup_media_tools
    setup_browser
    ;;
  *)
    echo "usage: ./dev.sh [serve|test|setup] [args...]" >&2
    exit 2
    ;;
esac
