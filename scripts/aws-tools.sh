#!/usr/bin/env bash
# Installs the tools the AWS tests use, pinned, into .tools/ (no system Python packages touched):
#   .tools/venv      moto (a real-protocol AWS emulator) and cfn-lint
#   .tools/sam-venv  the AWS SAM CLI (its pins differ from moto's, so it lives apart)
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
command -v "$py" >/dev/null 2>&1 || { echo "aws-tools: python3 is missing" >&2; exit 1; }
if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
fi
mkdir -p .tools
if [ ! -x .tools/venv/bin/moto_server ] || [ ! -x .tools/venv/bin/cfn-lint ]; then
  echo "aws-tools: installing moto and cfn-lint" >&2
  "$py" -m venv .tools/venv
  .tools/venv/bin/pip install -q --disable-pip-version-check "moto[server]==5.2.5" "cfn-lint==1.58.0"
fi
if [ ! -x .tools/sam-venv/bin/sam ]; then
  echo "aws-tools: installing the SAM CLI" >&2
  "$py" -m venv .tools/sam-venv
  .tools/sam-venv/bin/pip install -q --disable-pip-version-check "aws-sam-cli==1.170.0"
fi
