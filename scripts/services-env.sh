# Sourced (not run) by the npm scripts after ensure.sh: exports MONGODB_URI and REDIS_URL from `services env`.
# The lines are parsed rather than eval'ed, so a URI with & or ; in its query stays a plain value.
COUNTERSIGN_SERVICES_ENV=$(node "$ROOT/dist/main.js" services env --quiet)
while IFS= read -r line; do
  case $line in
    MONGODB_URI=*) MONGODB_URI=${line#MONGODB_URI=} ;;
    REDIS_URL=*) REDIS_URL=${line#REDIS_URL=} ;;
  esac
done <<EOF_SERVICES
$COUNTERSIGN_SERVICES_ENV
EOF_SERVICES
unset COUNTERSIGN_SERVICES_ENV
export MONGODB_URI REDIS_URL
