#!/usr/bin/env bash
# Installs what the JavaScript and browser system tests need, only when something is missing. Idempotent.
#   Node.js and npm: the machine's own; Debian's when there is none (the tests need Node.js 20 or newer).
#   The npm packages pinned in tests/WorkspaceStorage.EndToEnd.Tests/WholeSystem/JavaScript/package-lock.json
#   (hypha-rpc, the AWS SDK, axios, playwright-core, esbuild): `npm ci` into that folder's node_modules (git-ignored),
#   again only when the lock file changed. Install scripts stay off: none of these needs one (esbuild's binary comes
#   as its platform package), and Playwright must not download a browser.
#   chromium: Debian's, the browser the tests drive (/usr/bin/chromium).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JS=$ROOT/tests/WorkspaceStorage.EndToEnd.Tests/WholeSystem/JavaScript
packages=(chromium)
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
"$ROOT/scripts/apt-install-missing.sh" "${packages[@]}"

stamp=$JS/node_modules/.wso-lock-sha256
want=$(sha256sum "$JS/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "install-js-clients: npm ci in ${JS#"$ROOT"/}"
(cd "$JS" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
echo "$want" >"$stamp"
