"""Test-only certificates made with the openssl command in a test's tmp_path:
a CA, server certificates for localhost and 127.0.0.1, and client certificates
signed by a CA. Valid one day; RSA 2048 (what grpc and OpenSSL accept by
default)."""

import dataclasses
import pathlib
import secrets
import subprocess

from conftest import require_command


@dataclasses.dataclass(frozen=True)
class Pem:
    cert: pathlib.Path
    key: pathlib.Path

    def cert_bytes(self) -> bytes:
        return self.cert.read_bytes()

    def key_bytes(self) -> bytes:
        return self.key.read_bytes()


def _openssl(*args):
    openssl = require_command("openssl", "it makes the test certificates; scripts/setup installs it")
    subprocess.run([openssl, *map(str, args)], check=True, capture_output=True, timeout=60)


def make_ca(folder: pathlib.Path, name: str) -> Pem:
    """A self-signed CA certificate and its key."""
    folder.mkdir(parents=True, exist_ok=True)
    pem = Pem(folder / f"{name}.pem", folder / f"{name}.key")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", pem.key, "-out", pem.cert)
    return pem


def make_leaf(folder: pathlib.Path, name: str, ca: Pem, *, server: bool) -> Pem:
    """A certificate signed by `ca`: for a server (localhost, 127.0.0.1) or a client."""
    folder.mkdir(parents=True, exist_ok=True)
    pem = Pem(folder / f"{name}.pem", folder / f"{name}.key")
    csr, ext = folder / f"{name}.csr", folder / f"{name}.ext"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", pem.key, "-out", csr)
    usage = "serverAuth" if server else "clientAuth"
    lines = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
             f"extendedKeyUsage={usage}"]
    if server:
        lines.append("subjectAltName=DNS:localhost,IP:127.0.0.1")
    ext.write_text("\n".join(lines) + "\n")
    _openssl("x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-set_serial",
             str(secrets.randbits(62) + 1), "-days", "1", "-extfile", ext,
             "-out", pem.cert)
    return pem
