# Nothing outside www/ (issue 15 section 2): symlinks that leave the folder
# and dotfiles are 404, however the path is spelled; links that stay inside
# still work. And the HSTS option: the header with --hsts, none without.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build_chain" build_chain --out "$out"
www=$tmp/www
cp -r "$repo/www" "$www"
ln -s ../chain/root.key "$www/key.pem"
ln -s /etc "$www/etc"
mkdir -p "$www/.git" "$www/sub" "$www/docs"
echo "[core] secret" >"$www/.git/config"
echo "user:hash" >"$www/.htpasswd"
echo "hidden" >"$www/sub/.hidden"
echo "visible" >"$www/sub/page.txt"
echo "docs index" >"$www/docs/index.html"
ln -s style.css "$www/alias.css"
ln -s .git/config "$www/gitlink.txt"
ln -s "$out" "$www/chainlink"

start_server "$tmp/serve.log" --chain "$out" --www "$www" || { bad "server start"; finish; exit 1; }

# status PATH: the HTTP status for PATH sent as it is (no normalising by curl)
status() {
    curl -s --path-as-is --max-time 10 --cacert "$out/root.pem" \
        --resolve "localhost:$port:127.0.0.1" -o "$tmp/body" -w '%{http_code}' \
        "https://localhost:$port$1"
}
served() { equal "$1 is served" "$(status "$1")" 200; }
refused() {
    equal "$1 is refused" "$(status "$1")" 404
    lacks "$1 leaks nothing" "$tmp/body" "PRIVATE KEY"
    lacks "$1 leaks no /etc" "$tmp/body" "root:"
    lacks "$1 leaks no dotfile" "$tmp/body" "secret"
}

served /style.css
served /alias.css
served /sub/page.txt
served /docs/
served /docs/index.html
refused /key.pem
refused /etc/passwd
refused /etc/hostname
refused /etc/
refused /chainlink/root.key
refused /gitlink.txt
refused /.git/config
refused /.git/
refused /.htpasswd
refused /sub/.hidden
refused /%2egit/config
refused /%2Egit/config
refused /sub/%2ehidden
refused /%2e%2e/chain/root.key
refused /..%2fchain%2froot.key
refused /%2e%2e%2fchain%2froot.key
refused /sub/..%2f..%2fchain/root.key
refused /../chain/root.key
refused //etc/passwd
refused /sub//..//..//chain/root.key
# CivetWeb drops a trailing dot: /style.css. is style.css, still inside
served /style.css.
refused /key.pem.
refused /style.css/
refused /sub/
equal "PUT is refused" "$(curl -s --max-time 10 --cacert "$out/root.pem" -X PUT -d x \
    --resolve "localhost:$port:127.0.0.1" -o /dev/null -w '%{http_code}' \
    "https://localhost:$port/new.txt")" 405
refuse "nothing written" test -e "$www/new.txt"

# HSTS: off by default, on the page and files with --hsts, never on http
curl -sS -I --cacert "$out/root.pem" --resolve "localhost:$port:127.0.0.1" \
    "https://localhost:$port/" >"$tmp/h0.txt"
lacks "no HSTS by default" "$tmp/h0.txt" "Strict-Transport-Security"
stop_server TERM && ok || bad "SIGTERM exit status"
start_server "$tmp/serve2.log" --chain "$out" --www "$www" --http-port 0 --hsts 31536000 \
    || { bad "server start --hsts"; finish; exit 1; }
http_port=$(sed -n 's|^plain http://localhost:\([0-9]*\)/.*|\1|p' "$tmp/serve2.log")
for path in / /style.css; do
    curl -sS -I --cacert "$out/root.pem" --resolve "localhost:$port:127.0.0.1" \
        "https://localhost:$port$path" >"$tmp/h1.txt"
    contains "--hsts: $path has HSTS" "$tmp/h1.txt" "Strict-Transport-Security: max-age=31536000"
done
curl -sS -i "http://127.0.0.1:$http_port/crl/root.crl.pem" >"$tmp/h2.txt"
contains "plain http still serves the CRL" "$tmp/h2.txt" "200 OK"
lacks "--hsts: never over plain http" "$tmp/h2.txt" "Strict-Transport-Security"
refuse "--hsts: a negative max-age is refused" lua "$repo/scripts/serve.lua" --port 0 \
    --chain "$out" --www "$www" --no-http --hsts=-1
contains "--hsts: the refusal names it" "$tmp/last.out" "--hsts"
stop_server TERM && ok || bad "SIGTERM exit status"
finish
