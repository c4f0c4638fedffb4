"""Signed models: who wrote a model directory, checked before it scores anyone.

Checksums (``CHECKSUMS``) catch a damaged file, not an edit whose checksums were
recomputed. A signature does: :meth:`RiskModel.save(path, signing_key=...)
<creditrisk.RiskModel.save>` writes ``SIGNATURE`` beside the model's files, a signature
over its ``CHECKSUMS`` (hence over ``model.txt`` and ``metadata.json``), and
:meth:`RiskModel.load <creditrisk.RiskModel.load>` verifies it whenever a key is
configured, refusing an unsigned or altered model then. With no key configured, a
model loads as before and the scoring manifest says it was not verified.

Two kinds of key, both through the ``cryptography`` package:

- **Ed25519** (recommended): the private key signs where models are trained; its
  public key, which cannot sign, verifies where they are used. Keys are PEM files
  (:func:`generate_key` writes a pair).
- **HMAC-SHA256**: one shared secret signs and verifies.

The key is the ``signing_key`` argument or, when it is not given, the environment
variable ``CREDITRISK_SIGNING_KEY`` (the command line and MLflow's pyfunc loader use
it): the path of a PEM Ed25519 key (private or public), ``hmac:<secret>``, or the path
of any other file, whose bytes are the HMAC secret.

Examples
--------
>>> import creditrisk as cr, tempfile
>>> from pathlib import Path
>>> model = cr.RiskModel.load(cr.sample_model_path())
>>> with tempfile.TemporaryDirectory() as d:
...     private, public = generate_key(Path(d) / "models.pem")
...     _ = model.save(Path(d) / "signed", signing_key=private)
...     loaded = cr.RiskModel.load(Path(d) / "signed", signing_key=public)
>>> loaded.origin_["signature"]["verified"], loaded.origin_["signature"]["algorithm"]
(True, 'ed25519')
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ENV",
    "SIGNATURE_FILE",
    "SignatureError",
    "SigningKey",
    "generate_key",
    "resolve_key",
    "sign_directory",
    "verify_directory",
]

#: the environment variable naming the key when none is passed
ENV = "CREDITRISK_SIGNING_KEY"
#: the signature's file in a model directory
SIGNATURE_FILE = "SIGNATURE"
_CONTEXT = b"creditrisk model signature v1\n"


class SignatureError(ValueError):
    """A signature that is missing, malformed or does not match, or a key that cannot
    do what is asked (sign with a public key).

    Examples
    --------
    >>> str(SignatureError("the model is not signed"))
    'the model is not signed'
    """


@dataclass(frozen=True)
class SigningKey:
    """A key that signs and verifies model directories.

    Build one with :func:`resolve_key`. ``algorithm`` is ``"ed25519"`` or
    ``"hmac-sha256"``; ``key_id`` is the first 16 hex digits of a SHA-256 of the public
    key (Ed25519) or of the secret (HMAC), so a signature names the key it needs
    without revealing it.

    Parameters
    ----------
    algorithm : str
        ``"ed25519"`` or ``"hmac-sha256"``.
    key_id : str
        The key's short fingerprint.
    private : object, optional
        The Ed25519 private key (signs).
    public : object, optional
        The Ed25519 public key (verifies).
    secret : bytes, optional
        The HMAC secret (signs and verifies).

    Examples
    --------
    >>> key = resolve_key("hmac:correct horse battery staple")
    >>> key.algorithm, key.can_sign, len(key.key_id)
    ('hmac-sha256', True, 16)
    """

    algorithm: str
    key_id: str
    private: object | None = None
    public: object | None = None
    secret: bytes | None = None

    @property
    def can_sign(self) -> bool:
        """Whether the key signs (an Ed25519 public key only verifies).

        Returns
        -------
        bool
            True for a private Ed25519 key or an HMAC secret.

        Examples
        --------
        >>> resolve_key(b"secret").can_sign
        True
        """
        return self.private is not None or self.secret is not None

    def sign(self, payload: bytes) -> bytes:
        """The signature of ``payload``.

        Parameters
        ----------
        payload : bytes
            What to sign.

        Returns
        -------
        bytes
            The signature.

        Raises
        ------
        SignatureError
            The key is a public key.

        Examples
        --------
        >>> len(resolve_key(b"secret").sign(b"model"))
        32
        """
        if self.secret is not None:
            return hmac.new(self.secret, payload, hashlib.sha256).digest()
        if self.private is None:
            raise SignatureError(
                "this key is an Ed25519 public key: it verifies models but cannot sign them; "
                "sign with the private key"
            )
        return self.private.sign(payload)

    def verify(self, payload: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's signature of ``payload``.

        Parameters
        ----------
        payload : bytes
            What was signed.
        signature : bytes
            The signature.

        Returns
        -------
        bool
            True when it matches.

        Examples
        --------
        >>> key = resolve_key(b"secret")
        >>> key.verify(b"model", key.sign(b"model")), key.verify(b"other", key.sign(b"model"))
        (True, False)
        """
        if self.secret is not None:
            return hmac.compare_digest(self.sign(payload), signature)
        from cryptography.exceptions import InvalidSignature

        try:
            self.public.verify(signature, payload)
        except InvalidSignature:
            return False
        return True


def _fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _ed25519(private=None, public=None) -> SigningKey:
    from cryptography.hazmat.primitives import serialization

    public = public if public is not None else private.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SigningKey("ed25519", _fingerprint(raw), private=private, public=public)


def _hmac(secret: bytes) -> SigningKey:
    if not secret:
        raise SignatureError("an HMAC secret may not be empty")
    return SigningKey("hmac-sha256", _fingerprint(b"hmac-sha256:" + secret), secret=secret)


def _from_file(path: Path) -> SigningKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    data = path.read_bytes()
    if b"-----BEGIN" not in data:
        return _hmac(data.strip())
    try:
        if b"PRIVATE KEY" in data:
            key = serialization.load_pem_private_key(data, password=None)
            if not isinstance(key, ed25519.Ed25519PrivateKey):
                raise SignatureError(f"{path} is not an Ed25519 key")
            return _ed25519(private=key)
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"{path} is not a readable PEM key: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise SignatureError(f"{path} is not an Ed25519 key")
    return _ed25519(public=key)


def resolve_key(key=None, *, environment: bool = True) -> SigningKey | None:
    """The signing key to use: ``key``, else ``CREDITRISK_SIGNING_KEY``, else None.

    Parameters
    ----------
    key : SigningKey, Ed25519 key, bytes, str or path-like, optional
        A :class:`SigningKey`; an Ed25519 private or public key object of
        ``cryptography``; bytes (an HMAC secret); ``"hmac:<secret>"``; or the path of
        a key file (PEM Ed25519, or any other file whose bytes are an HMAC secret).
    environment : bool, default True
        Fall back to the ``CREDITRISK_SIGNING_KEY`` environment variable.

    Returns
    -------
    SigningKey or None
        None when no key is given or configured.

    Raises
    ------
    SignatureError
        A key that cannot be read (a missing file, a PEM key of another kind).

    Examples
    --------
    >>> resolve_key(None, environment=False) is None
    True
    >>> resolve_key("hmac:s3cret").algorithm
    'hmac-sha256'
    """
    from cryptography.hazmat.primitives.asymmetric import ed25519

    if key is None and environment:
        key = os.environ.get(ENV) or None
        where = f" (from {ENV})"
    else:
        where = ""
    if key is None:
        return None
    if isinstance(key, SigningKey):
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return _ed25519(private=key)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return _ed25519(public=key)
    if isinstance(key, bytes | bytearray):
        return _hmac(bytes(key))
    if isinstance(key, str) and key.startswith("hmac:"):
        return _hmac(key.removeprefix("hmac:").encode())
    if isinstance(key, str | os.PathLike):
        path = Path(key)
        if not path.is_file():
            raise SignatureError(
                f"no signing key file at {path}{where}: give a PEM Ed25519 key, a secret "
                "file, or hmac:<secret>"
            )
        return _from_file(path)
    raise SignatureError(f"cannot use a {type(key).__name__} as a signing key")


def generate_key(path: str | os.PathLike) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: the private key at ``path``, the public beside it.

    The private key (mode 0600) signs where models are trained; the public key
    (``<name>.pub``) verifies where they are used and can be shared.

    Parameters
    ----------
    path : str or path-like
        Where to write the private key (PEM); it must not exist (its directory is
        created).

    Returns
    -------
    tuple of pathlib.Path
        The private and the public key files.

    Raises
    ------
    FileExistsError
        A file is already at ``path`` or at the public key's path.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     private, public = generate_key(Path(d) / "models.pem")
    ...     resolve_key(private).can_sign, resolve_key(public).can_sign
    (True, False)
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    private_path = Path(path)
    public_path = private_path.with_name(private_path.name + ".pub")
    for existing in (private_path, public_path):
        if existing.exists():
            raise FileExistsError(f"{existing} exists: a key is never overwritten")
    private_path.parent.mkdir(parents=True, exist_ok=True)
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def _payload(checksums: bytes) -> bytes:
    return _CONTEXT + checksums


def sign_directory(path: str | os.PathLike, key) -> Path:
    """Sign a model directory: write ``SIGNATURE`` over its ``CHECKSUMS``.

    Parameters
    ----------
    path : str or path-like
        A model directory (``CHECKSUMS`` in it).
    key : SigningKey or anything :func:`resolve_key` takes
        A key that signs.

    Returns
    -------
    pathlib.Path
        The signature file.

    Raises
    ------
    SignatureError
        The key cannot sign, or there are no checksums to sign.

    Examples
    --------
    >>> import creditrisk as cr, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     folder = cr.RiskModel.load(cr.sample_model_path()).save(f"{d}/model")
    ...     signed = sign_directory(folder, "hmac:secret")
    ...     verify_directory(folder, "hmac:secret")["verified"], signed.name
    (True, 'SIGNATURE')
    """
    path = Path(path)
    key = resolve_key(key, environment=False)
    checksums = path / "CHECKSUMS"
    if not checksums.is_file():
        raise SignatureError(f"{path} has no CHECKSUMS to sign")
    signature = key.sign(_payload(checksums.read_bytes()))
    record = {
        "format": 1,
        "algorithm": key.algorithm,
        "key_id": key.key_id,
        "signs": "CHECKSUMS",
        "signature": base64.b64encode(signature).decode(),
    }
    target = path / SIGNATURE_FILE
    target.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return target


def verify_directory(path: str | os.PathLike, key) -> dict:
    """Verify a model directory's signature with ``key``.

    The checksums it signs are checked against the files by
    :meth:`RiskModel.load <creditrisk.RiskModel.load>`; this function checks that the
    checksums are the ones the key's holder signed.

    Parameters
    ----------
    path : str or path-like
        A model directory.
    key : SigningKey or anything :func:`resolve_key` takes
        The key to verify with.

    Returns
    -------
    dict
        ``verified`` (True), ``algorithm`` and ``key_id``.

    Raises
    ------
    SignatureError
        The model is unsigned, its signature is malformed, made with another kind of
        key or another key, or does not match (the model was altered).

    Examples
    --------
    >>> import creditrisk as cr, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     folder = cr.RiskModel.load(cr.sample_model_path()).save(f"{d}/model")
    ...     try:
    ...         verify_directory(folder, "hmac:secret")
    ...     except SignatureError as err:
    ...         print("is not signed" in str(err))
    True
    """
    path = Path(path)
    key = resolve_key(key, environment=False)
    file = path / SIGNATURE_FILE
    if not file.is_file():
        raise SignatureError(
            f"{path} is not signed (no {SIGNATURE_FILE}) and a signing key is configured: "
            "only signed models are loaded"
        )
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
        algorithm, key_id = record["algorithm"], record["key_id"]
        signature = base64.b64decode(record["signature"], validate=True)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise SignatureError(f"{file} is not a readable signature") from None
    if algorithm != key.algorithm or key_id != key.key_id:
        raise SignatureError(
            f"{path} is signed with another key ({algorithm} {key_id}; the configured key is "
            f"{key.algorithm} {key.key_id})"
        )
    checksums = (path / "CHECKSUMS").read_bytes() if (path / "CHECKSUMS").is_file() else b""
    if not key.verify(_payload(checksums), signature):
        raise SignatureError(
            f"{path}: the signature does not match its files: the model was altered after it "
            "was signed"
        )
    return {"verified": True, "algorithm": key.algorithm, "key_id": key.key_id}
