#!/usr/bin/env bash
# Debian packages heatwatch needs beyond the base machine, installed only when missing:
#   fonts-wqy-zenhei  a CJK TrueType font embedded in the PDF reports (reportlab cannot
#                     embed Noto CJK's CFF outlines)
#   pkg-config        the InfluxDB 2.7 build (libflux via cgo); see docs/stack.md
#   openssl           the secured local stack's CA and broker certificate (docs/security.md)
#   poppler-utils     pdftotext / pdftoppm: the report tests read every PDF page as a reader
#                     would (draft marks, page numbers) and the gallery renders pages to PNG
set -euo pipefail
need=()
[[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]] || need+=(fonts-wqy-zenhei)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
if ((${#need[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) != 0 ]]; then
  echo "heatwatch needs these Debian packages: ${need[*]} — install them (sudo apt-get install ${need[*]}) and re-run" >&2
  exit 1
fi
echo "[system-deps] installing ${need[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
