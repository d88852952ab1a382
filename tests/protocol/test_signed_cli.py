"""``leerid protocol keys|sign|attest|verify`` as an operator runs them (art. 11)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

from joserfc.jwk import ECKey, OKPKey

from tests.conftest import run_leerid, run_leerid_here
from tests.protocol.helpers import SEED_YAML

ID = "dov-lars-glce-2024"


def _write_keys(folder: Path) -> dict[str, Path]:
    files = {}
    for name, key in (
        ("dov", ECKey.generate_key("P-256")),
        ("lars", OKPKey.generate_key("Ed25519")),
    ):
        files[name] = folder / f"{name}.jwk"
        files[name].write_text(json.dumps(key.as_dict(private=True)), encoding="utf-8")
        files[f"{name}.pub"] = folder / f"{name}.pub.jwk"
        files[f"{name}.pub"].write_text(json.dumps(key.as_dict(private=False)), encoding="utf-8")
    return files


def test_keys_sign_attest_verify(leerid_env: dict[str, str], tmp_path: Path) -> None:
    def leerid(*args: str, process: bool = False) -> tuple[int, str]:
        # in this process (fast); one refusal as a real process: its exit status and message
        result = (run_leerid if process else run_leerid_here)(list(args), leerid_env)
        assert "Traceback" not in result.stderr, result.stderr
        return result.returncode, result.stdout + result.stderr

    keys = _write_keys(tmp_path)
    code, out = leerid("protocol", "add", str(SEED_YAML), "--operator", "anna")
    assert code == 0, out
    code, out = leerid(
        "protocol", "keys", "add", "--party", "dov", "--jwk", str(keys["dov"]), process=True
    )
    assert code == 1 and "private key material" in out  # refused: never stored
    oct_key = tmp_path / "oct.jwk"
    oct_key.write_text('{"kty": "oct"}', encoding="utf-8")
    code, out = leerid("protocol", "keys", "add", "--party", "dov", "--jwk", str(oct_key))
    assert code == 1 and "Ed25519" in out
    code, out = leerid("protocol", "keys", "add", "--party", "dov", "--jwk", str(keys["dov.pub"]))
    assert code == 0 and "(ES256)" in out
    sign = ["protocol", "sign", ID, "--version", "1"]
    code, out = leerid(*sign, "--party", "recipient", "--key", str(keys["lars"]))
    assert code == 1 and "unregistered key" in out  # LARS's key is not registered yet
    code, out = leerid(*sign, "--party", "recipient", "--key", str(keys["dov"]))
    assert code == 1 and "registered for discloser, not recipient" in out
    none = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode() + ".e30."
    (tmp_path / "none.jws").write_text(none, encoding="utf-8")
    code, out = leerid(*sign, "--party", "dov", "--jws", str(tmp_path / "none.jws"))
    assert code == 1 and "'none' refused" in out
    code, out = leerid(*sign, "--party", "dov", "--key", str(keys["dov"]), "--signer", "Ann")
    assert code == 0 and out.startswith("signed: discloser signed version 1"), out
    code, out = leerid("protocol", "verify", ID)
    assert "in force: none" in out and "by anna" in out

    attest = [*["protocol", "attest", ID, "--version", "1", "--party", "recipient"]]
    attest += ["--signer", "Stefan Grielens", "--operator", "anna", "--signed-at", "2024-02-29"]
    code, out = leerid(*attest, "--document-sha256", "not-a-hash")
    assert code == 1 and "64 hex digits" in out
    code, out = leerid(*attest, "--document-sha256", "ab" * 32)
    assert code == 0, out
    code, out = leerid("protocol", "verify", ID)
    assert code == 0 and "in force: version 1 since" in out, out
    assert out.count(": valid") == 2

    # Issue 10: changed content, old signature block kept: stored, but not in force.
    amended = tmp_path / "amended.yaml"
    text = SEED_YAML.read_text(encoding="utf-8").replace("place: Brussel", "place: Gent")
    amended.write_text(text, encoding="utf-8")
    code, out = leerid("protocol", "add", str(amended))
    assert code == 0 and "version 2" in out
    code, out = leerid("protocol", "verify", ID)
    assert "in force: version 1 since" in out and "version 2  sha256" in out
    sign2 = ["protocol", "sign", ID, "--version", "2", "--party", "dov", "--key", str(keys["dov"])]
    code, out = leerid(*sign2)
    assert code == 0, out
    code, out = leerid("protocol", "verify", ID)
    assert "in force: version 1 since" in out  # one party only
    today = dt.datetime.now(dt.UTC).date().isoformat()
    attest2 = ["protocol", "attest", ID, "--version", "2", "--party", "recipient"]
    attest2 += ["--signer", "Stefan Grielens", "--operator", "anna", "--signed-at", today]
    code, out = leerid(*attest2, "--document-sha256", "cd" * 32)
    assert code == 0, out
    code, out = leerid("protocol", "verify", ID)
    assert "in force: version 2 since" in out, out
