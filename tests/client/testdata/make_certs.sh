#!/usr/bin/env bash
# Regenerates the test-only TLS files used by tests/client (valid 100 years):
# a CA, a server certificate for localhost/127.0.0.1 and a client certificate,
# all signed by the CA. Never use these keys for anything but tests.
set -euo pipefail
cd "$(dirname "$0")"
days=36500
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days $days -subj "/CN=lion-test-ca"
for who in server client; do
  openssl req -newkey rsa:2048 -nodes -keyout $who.key -out $who.csr -subj "/CN=lion-test-$who"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > $who.ext
  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $who.pem -days $days -extfile $who.ext
  rm $who.csr $who.ext
done
rm -f ca.key ca.srl
