#!/usr/bin/env sh
# Build the release binary and install it to $PREFIX/bin (default ~/.local/bin).
# Safe to re-run: it rebuilds what changed and replaces the installed binary.
set -eu

PREFIX=${PREFIX:-"$HOME/.local"}
BIN_DIR="$PREFIX/bin"
cd "$(dirname "$0")"

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
    else
        cat >&2 <<'MSG'
error: cargo (the Rust toolchain) was not found.
Install it with rustup, then run ./install.sh again:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
    . "$HOME/.cargo/env"
MSG
        exit 1
    fi
fi

echo "building trcker (release) ..."
cargo build --release --locked

mkdir -p "$BIN_DIR"
# Copy to a temporary name and rename, so a running trcker keeps its old binary intact.
cp target/release/trcker "$BIN_DIR/.trcker.new"
mv -f "$BIN_DIR/.trcker.new" "$BIN_DIR/trcker"
echo "installed $BIN_DIR/trcker"

case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) echo "note: $BIN_DIR is not on your PATH; add it, e.g.: export PATH=\"$BIN_DIR:\$PATH\"" ;;
esac
echo "start it with: trcker serve   (docs at http://127.0.0.1:8080/docs)"
