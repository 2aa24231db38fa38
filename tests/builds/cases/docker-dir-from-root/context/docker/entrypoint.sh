#!/bin/sh
set -e
case "$1" in
    serve) exec python -m api serve ;;
    status) exec python -m api status ;;
    *) exec "$@" ;;
esac
