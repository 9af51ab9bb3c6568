"""TLS certificates and SuperNode keys for the Deployment Engine (ai4media_ext.apps.deployment)."""

import ipaddress
import stat

import pytest

pytest.importorskip("flwr")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from ai4media_ext.apps.deployment import write_supernode_keys, write_tls_certificates  # noqa: E402


def test_server_certificate_is_signed_by_the_ca_for_the_given_hosts(tmp_path):
    paths = write_tls_certificates(tmp_path, hosts=("127.0.0.1", "superlink.example"))
    ca = x509.load_pem_x509_certificate(paths["ca"].read_bytes())
    cert = x509.load_pem_x509_certificate(paths["cert"].read_bytes())
    cert.verify_directly_issued_by(ca)  # raises if the signature or issuer is wrong
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.DNSName) == ["superlink.example"]
    key = serialization.load_pem_private_key(paths["key"].read_bytes(), None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert stat.S_IMODE(paths["key"].stat().st_mode) == 0o600


def test_supernode_keys_load_as_flower_loads_them(tmp_path):
    from flwr.cli.supernode.register import try_load_public_key

    paths = write_supernode_keys(tmp_path, "node-a")
    private = serialization.load_ssh_private_key(paths["private"].read_bytes(), None)
    assert isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name == "secp384r1"
    public = serialization.load_ssh_public_key(paths["public"].read_bytes())
    assert public.public_numbers() == private.public_key().public_numbers()
    assert try_load_public_key(paths["public"])  # flwr supernode register's own check
    assert stat.S_IMODE(paths["private"].stat().st_mode) == 0o600
    other = write_supernode_keys(tmp_path, "node-b")
    assert other["public"].read_bytes() != paths["public"].read_bytes()


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".."])
def test_bad_key_names_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="plain file name"):
        write_supernode_keys(tmp_path, name)


def test_bad_certificate_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="hosts"):
        write_tls_certificates(tmp_path, hosts=())
    with pytest.raises(ValueError, match="days"):
        write_tls_certificates(tmp_path, days=0)
    assert not list(tmp_path.iterdir())  # nothing half-written
