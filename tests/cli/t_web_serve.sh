#!/usr/bin/env bash
# The web app's files as biaflows serve answers them (docs/web.md): page
# URLs get index.html (unknown ones a 404 with it), assets are cached for
# ever and sent gzipped when asked, only GET and HEAD, names checked, and a
# clear answer when the app is not built. Uses a small web folder of its own.
. "$(dirname "$0")/lib.sh"
export NO_PROXY='*' no_proxy='*'
I=$T/inst
bia init "$I" >/dev/null
W=$T/web
mkdir -p "$W/assets"
printf '<!doctype html><title>app</title><div id="app"></div>\n' >"$W/index.html"
printf 'console.log("app")\n' >"$W/assets/app-ABC123.js"
gzip -9 -k "$W/assets/app-ABC123.js"
printf '<svg xmlns="http://www.w3.org/2000/svg"/>\n' >"$W/favicon.svg"

start() { # extra serve args
	rm -f "$T/port"
	"$BIAFLOWS" --instance "$I" serve --listen 127.0.0.1:0 --port-file "$T/port" --no-worker "$@" 2>>"$T/serve.log" &
	SRV=$!
	for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
	U=http://127.0.0.1:$(cat "$T/port")
}
stop() { kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; }
get() { # URL [curl args]: headers in $T/h, body in $T/b, status in $code
	local u=$1
	shift
	code=$(curl -s -D "$T/h" -o "$T/b" -w '%{http_code}' "$@" "$u")
}

start --web "$W"
for p in / /problems /problems/nuclei /problems/nuclei/benchmark /images/3 /compare /workflows \
	/workflows/NucleiSegmentation-C /runs /runs/7 /login /problems/nuclei/; do
	get "$U$p"
	check "GET $p is the app (200, text/html)" eval "[ $code = 200 ] && grep -qi '^content-type: text/html' '$T/h' && cmp -s '$T/b' '$W/index.html'"
done
get "$U/problems"
check "pages: no-cache, a CSP without eval, same-origin referrers" eval "grep -qi '^cache-control: no-cache' '$T/h' && grep -qi \"^content-security-policy: default-src 'self'\" '$T/h' && ! grep -i '^content-security-policy' '$T/h' | grep -q \"'unsafe-eval'\" && grep -qi '^referrer-policy: same-origin' '$T/h'"
etag=$(sed -n 's/^[Ee][Tt]ag: //p' "$T/h" | tr -d '\r')
get "$U/problems" -H "If-None-Match: $etag"
check "a page again with its ETag: 304" test "$code" = 304
for p in /nope /problems/a/b/c /images /api /apiv1 /runs/1/x; do
	get "$U$p"
	check "GET $p: 404 with the app (it says page not found)" eval "[ $code = 404 ] && cmp -s '$T/b' '$W/index.html'"
done
get "$U/api/v1/nope"
check "an unknown API route stays a JSON 404" eval "[ $code = 404 ] && grep -q '\"code\":\"not_found\"' '$T/b'"

get "$U/assets/app-ABC123.js"
check "an asset: 200, JavaScript, cached for ever" eval "[ $code = 200 ] && grep -qi '^content-type: text/javascript' '$T/h' && grep -qi '^cache-control: public, max-age=31536000, immutable' '$T/h' && cmp -s '$T/b' '$W/assets/app-ABC123.js'"
get "$U/assets/app-ABC123.js" -H 'Accept-Encoding: gzip'
check "asked for gzip: the .gz, Content-Encoding gzip, Vary" eval "[ $code = 200 ] && grep -qi '^content-encoding: gzip' '$T/h' && grep -qi '^vary: accept-encoding' '$T/h' && cmp -s '$T/b' '$W/assets/app-ABC123.js.gz'"
get "$U/favicon.ico"
check "favicon: the app's SVG" eval "[ $code = 200 ] && grep -qi '^content-type: image/svg+xml' '$T/h'"
for p in /assets/missing.js /assets/.hidden /assets/a%2Fb.js "/assets/app-ABC123.js%00" /assets/; do
	get "$U$p"
	check "GET $p is refused (4xx, JSON)" eval "[ $code -ge 400 ] && [ $code -lt 500 ] && grep -q '\"error\"' '$T/b'"
done
get "$U/assets/../index.html" --path-as-is
check "a path with .. is refused (400)" test "$code" = 400
get "$U/problems" -X POST -d x
check "POST on a page: 405 with Allow: GET, HEAD" eval "[ $code = 405 ] && grep -qi '^allow: GET, HEAD' '$T/h'"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$U/problems")
check "HEAD on a page: 200" test "$code" = 200
stop

# no web folder (and none beside the program): pages say how to get one
start --web "$T/none"
get "$U/problems"
check "without the app: 404 naming make and --web" eval "[ $code = 404 ] && grep -q 'the web app is not built' '$T/b' && grep -q -- '--web' '$T/b'"
get "$U/api/v1/session"
check "the API still answers" test "$code" = 200
stop
BIAFLOWS_WEB=$W start
get "$U/runs"
check "BIAFLOWS_WEB names the folder" eval "[ $code = 200 ] && cmp -s '$T/b' '$W/index.html'"
stop
finish
