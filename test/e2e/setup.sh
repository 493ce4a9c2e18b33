#!/usr/bin/env bash
# Installs what the Loupe end-to-end tests need: Debian packages (chromium, ffmpeg for the video tests, ripgrep,
# build headers) and code-server 4.100.3 (= VS Code 1.100.3), offline, by the recipe in FACTS.md
# ("Running a real VS Code here"). Idempotent: a completed install is reused (stamp file).
#
#   test/e2e/setup.sh            # installs into ${LOUPE_E2E_CACHE:-$HOME/.cache/loupe-e2e}
#   LOUPE_E2E_CACHE=/x test/e2e/setup.sh
#
# Prints the install folder's path as its last line (`CODE_SERVER_DIR=...`).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive npm_config_yes=true npm_config_fund=false npm_config_audit=false
export npm_config_update_notifier=false

VERSION=4.100.3
CACHE="${LOUPE_E2E_CACHE:-$HOME/.cache/loupe-e2e}"
D="$CACHE/code-server-$VERSION"
STAMP="$D/.loupe-e2e-complete"
T0=$SECONDS
step() { echo "[e2e-setup +$((SECONDS - T0))s] $*"; }

# 1. Debian packages, only those missing.
PKGS=(libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config ripgrep chromium fonts-liberation python3 make g++ ffmpeg)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  step "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -q </dev/null
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
else
  step "Debian packages already installed"
fi
command -v chromium >/dev/null || { echo "chromium missing after install" >&2; exit 1; }
command -v rg >/dev/null || { echo "ripgrep (rg) missing after install" >&2; exit 1; }
# Video tests generate their clips with Debian's ffmpeg and decode them with it (Loupe bundles none).
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { echo "ffmpeg/ffprobe missing after install" >&2; exit 1; }

# 2. code-server, reused when the stamp exists.
if [ -f "$STAMP" ]; then
  step "code-server $VERSION cached at $D"
else
  step "installing code-server $VERSION into $D (from scratch)"
  rm -rf "$D"
  mkdir -p "$D"
  cd "$D"
  npm pack --loglevel=warn "code-server@$VERSION" </dev/null
  tar xzf "code-server-$VERSION.tgz" --strip-components=1
  rm -f "code-server-$VERSION.tgz"
  step "code-server: npm install"
  npm install --omit=dev --ignore-scripts --no-audit --no-fund </dev/null
  npm rebuild argon2 </dev/null
  cd lib/vscode
  step "lib/vscode: npm install"
  npm install --omit=dev --ignore-scripts --no-audit --no-fund </dev/null
  # Its postinstall downloads ripgrep from GitHub; use Debian's instead.
  mkdir -p node_modules/@vscode/ripgrep/bin
  cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  step "lib/vscode: npm rebuild native modules"
  npm rebuild kerberos node-pty @parcel/watcher @vscode/spdlog native-watchdog @vscode/deviceid </dev/null
  ln -sfn node_modules node_modules.asar
  cd extensions
  step "lib/vscode/extensions: npm install"
  npm install --omit=dev --ignore-scripts --no-audit --no-fund </dev/null
  cd "$D"
  node out/node/entry.js --version </dev/null
  date -u +%FT%TZ > "$STAMP"
  step "code-server installed"
fi
step "done"
echo "CODE_SERVER_DIR=$D"
