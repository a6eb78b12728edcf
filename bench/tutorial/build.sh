#!/bin/sh
# The tutorial's command sequence for the chain (root, intermediate, server;
# EC secp384r1, 30 days), one openssl process per step, run in the current
# folder. Used by bench/chain_build.sh as the reference; not part of chainsmith.
set -e
conf=$(dirname "$0")
mkdir -p newcerts
touch root-index.txt intermediate-index.txt
echo 1000 > root-serial
echo 1000 > intermediate-serial
openssl ecparam -name secp384r1 -genkey -noout -out root.key
openssl req -config "$conf/root.conf" -new -x509 -key root.key -days 30 -out root.crt
openssl ecparam -name secp384r1 -genkey -noout -out intermediate.key
openssl req -config "$conf/intermediate.conf" -new -key intermediate.key -out intermediate.csr
openssl ca -batch -notext -config "$conf/root.conf" -extensions v3_intermediate_ca \
    -in intermediate.csr -out intermediate.crt 2>/dev/null
openssl ecparam -name secp384r1 -genkey -noout -out server.key
openssl req -config "$conf/server.conf" -new -key server.key -out server.csr
openssl ca -batch -notext -config "$conf/intermediate.conf" -extensions server_cert \
    -in server.csr -out server.crt 2>/dev/null
cat server.crt intermediate.crt > server-chain.crt
openssl verify -CAfile root.crt -untrusted intermediate.crt server.crt >/dev/null
