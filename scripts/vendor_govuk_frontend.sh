#!/usr/bin/env bash
# Refresh the GOV.UK Frontend assets the web door serves (trigger/web/static/govuk/), from the npm
# registry, at the version whose macros govuk-frontend-jinja follows (its README's compatibility table:
# govuk-frontend-jinja 4.1.0 -> GOV.UK Frontend 6.3.0). Run from the repository root:
#
#     scripts/vendor_govuk_frontend.sh [VERSION]
#
# The stylesheet is compiled from GOV.UK Frontend's own Sass with two settings, not edited by hand:
# - the font is Arial: GDS Transport is licensed for GOV.UK only, and a council's door is not on GOV.UK
#   (so no font files are shipped, and none is requested);
# - the assets path is /static/govuk/ (only the crest, which the door never uses, is referenced).
# The JavaScript (progressive enhancement only: every page works without it) is copied as published.
# GOV.UK Frontend is MIT-licensed: LICENCE.txt beside the assets is its licence, VERSION its version.
set -euo pipefail
VERSION="${1:-6.3.0}"
SASS_VERSION="1.108.2"
cd "$(dirname "$0")/.."
out="trigger/web/static/govuk"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm install --no-save --no-audit --no-fund --silent "govuk-frontend@$VERSION" "sass@$SASS_VERSION")
cat > "$work/entry.scss" <<'SCSS'
@use "govuk-frontend/dist/govuk" with (
  $govuk-font-family: (arial, sans-serif),
  $govuk-assets-path: "/static/govuk/"
);
SCSS
(cd "$work" && npx sass --style=compressed --no-source-map --load-path=node_modules entry.scss govuk-frontend.min.css)
mkdir -p "$out"
cp "$work/govuk-frontend.min.css" "$out/govuk-frontend.min.css"
cp "$work/node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js" "$out/govuk-frontend.min.js"
sed -i 's|//# sourceMappingURL=.*$||' "$out/govuk-frontend.min.js"
echo "$VERSION" > "$out/VERSION"
if grep -q "GDS Transport" "$out/govuk-frontend.min.css"; then
    echo "the compiled stylesheet still names GDS Transport" >&2
    exit 1
fi
echo "GOV.UK Frontend $VERSION in $out (keep $out/LICENCE.txt: MIT, Crown Copyright (Government Digital Service))"
