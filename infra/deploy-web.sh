#!/usr/bin/env bash
# Uploads the reference frontend to a deployed stack: web/app, the live-mode liveness bundle that
# `make package` built (target/web/app/liveness), and app/config.js written from the stack's
# WebAppConfig output (API URL, upload rules, liveness identity pool); then invalidates CloudFront.
#
#   infra/deploy-web.sh STACK_NAME        (needs the AWS CLI and credentials for the stack)
set -euo pipefail
stack="${1:?usage: infra/deploy-web.sh STACK_NAME}"
root="$(cd "$(dirname "$0")/.." && pwd)"

output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
bucket="$(output WebBucketName)"
distribution="$(output WebDistributionId)"
config="$(output WebAppConfig)"

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
cp -R "$root/web/app" "$staging/app"
if [ -d "$root/target/web/app/liveness" ]; then
  cp -R "$root/target/web/app/liveness" "$staging/app/liveness"
else
  echo "no live-mode liveness bundle (run make package first); test-mode sessions work without it" >&2
fi
printf 'window.KYC_CONFIG = %s;\n' "$config" > "$staging/app/config.js"

# Short browser caching: the page itself is served for every session link, and a new deploy
# must reach open tabs on their next load.
aws s3 sync "$staging/app" "s3://$bucket/app" --delete --cache-control "no-cache"
aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/app/*" >/dev/null
echo "frontend deployed: $(output FrontendUrl)/public/sessions/TOKEN opens it"
