#!/usr/bin/env bash
# Installs what truereel needs on a Debian machine: ffmpeg/ffprobe, espeak-ng and the caption fonts.
# Safe to run again: it installs only what is missing. Needs root (or sudo) only to install.
set -euo pipefail

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
# Captions: DejaVu Sans Bold for Latin, Greek, Cyrillic, Arabic and Hebrew; Noto Sans CJK for Japanese,
# Chinese and Korean (the captions name it for phrases in those scripts; the smallest package with all
# three, 57 MB; fonts-ipafont-gothic would cover Japanese alone). See shared/src/media/captions.rs.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || need+=(fonts-dejavu-core)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc ] || need+=(fonts-noto-cjk)
command -v fc-list >/dev/null 2>&1 || need+=(fontconfig)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

command -v cargo >/dev/null 2>&1 || { echo "setup: cargo is missing: install Rust (rustup) first" >&2; exit 1; }
echo "setup: ffmpeg $(ffmpeg -version | head -1 | cut -d' ' -f3), $(espeak-ng --version | cut -d' ' -f1-4)" >&2
