#!/usr/bin/env bash
# Installs the build and test tools the portal needs, outside the clone, skipping what is present.
# Idempotent: safe to run on every `make run` / `make test`.
set -euo pipefail

TOOLS="${MHC_TOOLS:-$HOME/.cache/mhc-tools}"
CARGO_LEPTOS_VERSION=0.3.10
# Must equal the wasm-bindgen crate pinned in Cargo.toml.
WASM_BINDGEN_VERSION=0.2.130
mkdir -p "$TOOLS/bin" "$TOOLS/npm"
export PATH="$TOOLS/npm/node_modules/.bin:$TOOLS/bin:$PATH"

say() { printf '==> %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! rustup component list --installed | grep -q '^clippy'; then
  rustup component add clippy rustfmt
fi

if ! cargo-leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "building cargo-leptos $CARGO_LEPTOS_VERSION without downloads (once, about 10 minutes)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads --root "$TOOLS"
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "building wasm-bindgen-cli $WASM_BINDGEN_VERSION (once, about 2 minutes)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$TOOLS"
fi

if ! command -v wasm-opt >/dev/null 2>&1 || ! [ -x "$TOOLS/npm/node_modules/.bin/wasm-opt" ]; then
  say "installing wasm-opt (npm package binaryen)"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/npm" binaryen@132
fi

apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if [ "${MHC_NEED_BROWSER:-0}" = 1 ] && ! [ -x /usr/bin/chromium ]; then
  say "installing Chromium for the end-to-end tests"
  apt_install chromium
fi

# The PDF tests read the downloads' text with poppler's pdftotext, an independent PDF reader.
if [ "${MHC_NEED_BROWSER:-0}" = 1 ] && ! command -v pdftotext >/dev/null 2>&1; then
  say "installing poppler-utils (pdftotext) for the PDF tests"
  apt_install poppler-utils
fi
