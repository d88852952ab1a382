"""Issue 12 §4: ``leerid log`` — integrate, checkpoint, prove, verify (tampered rows named,
exit 1), key, witnesses, check-receipt; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from tests.idp import tlog_kit
from tests.idp_server import seed_idp

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Cli]:
    """``leerid ARGS`` in this process on the test database: (exit status, stdout, stderr)."""
    from leerid.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        with monkeypatch.context() as patch:
            for name in ("LEERID_ISSUER", "LEERID_TLOG_ORIGIN"):
                patch.delenv(name, raising=False)
            patch.setenv("LEERID_DATABASE_URL", database_url)
            patch.setenv("LEERID_HOME", str(tmp_path / "home"))
            patch.setenv("COLUMNS", "200")
            patch.setattr(sys, "argv", ["leerid", *args])
            capsys.readouterr()
            with pytest.raises(SystemExit) as done:
                main()
        captured = capsys.readouterr()
        return int(done.value.code or 0), captured.out, captured.err

    yield run


@pytest.fixture
def log(engine: Engine, cli: Cli) -> Engine:
    """600 entries integrated by hand in two rounds: checkpoints at 300 and 600."""
    for _ in range(2):
        tlog_kit.append(engine, 300)
        code, out, err = cli("log", "integrate")
        assert code == 0, err
        assert "integrated 300 entries" in out
    return engine


def test_integrate_checkpoint_prove_and_key(log: Engine, cli: Cli) -> None:
    code, out, _ = cli("log", "checkpoint", "--json")
    data = json.loads(out)
    assert code == 0 and (data["integrated"], data["pending"]) == (600, 0)
    point = data["checkpoint"]
    assert point["size"] == 600 and point["note"].startswith(f"{point['origin']}\n600\n")
    code, out, _ = cli("log", "checkpoint")
    assert "size 600" in out and "cosigned by: none yet" in out
    code, out, _ = cli("log", "prove", "--entry", "5")
    assert code == 0 and "verified against checkpoint 600" in out
    code, out, _ = cli("log", "prove", "--entry", "299", "--size", "300", "--json")
    proved = json.loads(out)
    assert (proved["index"], proved["size"], proved["verified"]) == (299, 300, True)
    code, _, err = cli("log", "prove", "--entry", "5", "--size", "299")
    assert code == 1 and "no checkpoint of size 299" in err
    code, _, err = cli("log", "prove", "--entry", "600")
    assert code == 1 and "beyond the newest checkpoint" in err and "Traceback" not in err
    code, out, _ = cli("log", "key")
    assert code == 0 and out.startswith(f"{point['origin']}+")
    code, out, _ = cli("log", "integrate")
    assert "integrated 0 entries" in out and "no new checkpoint" in out


def test_verify_passes_on_a_sound_log(log: Engine, cli: Cli) -> None:
    code, out, _ = cli("log", "verify")
    assert code == 0, out
    assert "600 entries" in out and "2 checkpoints" in out
    code, out, _ = cli("log", "verify", "--json")
    assert json.loads(out)["ok"] is True


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def _tamper_entry(engine: Engine, idx: int, column: str) -> None:
    with engine.begin() as conn:
        value = conn.execute(
            text(f"SELECT {column} FROM idp_tlog_entry WHERE idx = :i"),
            {"i": idx},
        ).scalar_one()
        changed = (
            bytes(value).replace(b"released", b"refused!")
            if column == "body"
            else _flip(bytes(value), 3)
        )
        conn.execute(
            text(f"UPDATE idp_tlog_entry SET {column} = :v WHERE idx = :i"),
            {"v": changed, "i": idx},
        )


def _tamper_tile(engine: Engine, level: int, idx: int, byte: int) -> None:
    with engine.begin() as conn:
        hashes = conn.execute(
            text("SELECT hashes FROM idp_tlog_tile WHERE level = :l AND idx = :i"),
            {"l": level, "i": idx},
        ).scalar_one()
        conn.execute(
            text("UPDATE idp_tlog_tile SET hashes = :h WHERE level = :l AND idx = :i"),
            {"h": _flip(bytes(hashes), byte), "l": level, "i": idx},
        )


def _tamper_checkpoint_root(engine: Engine, size: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE idp_tlog_checkpoint SET root = :r WHERE size = :s"),
            {"r": bytes(32), "s": size},
        )


def _gap(engine: Engine, idx: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE idp_tlog_entry SET idx = 100000 WHERE idx = :i"), {"i": idx})


def _checkpoint_beyond(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO idp_tlog_checkpoint (size, root, note, signed_at) "
                "SELECT 9999, root, note, signed_at FROM idp_tlog_checkpoint WHERE size = 600"
            )
        )


TAMPERINGS: dict[str, tuple[Callable[[Engine], None], str]] = {
    "body": (lambda e: _tamper_entry(e, 42, "body"), "index 42: the entry's body was changed"),
    "leaf hash": (
        lambda e: _tamper_entry(e, 420, "leaf_hash"),
        "index 420: the stored leaf hash was changed",
    ),
    "level-0 tile byte": (
        lambda e: _tamper_tile(e, 0, 1, 5 * 32 + 7),
        "index 261: tile tile/0/001",
    ),
    "level-1 tile byte": (
        lambda e: _tamper_tile(e, 1, 0, 0),
        "tile tile/1/000: hash 0 differs",
    ),
    "checkpoint root": (
        lambda e: _tamper_checkpoint_root(e, 300),
        "checkpoint 300: the stored size or root is not the one in its signed note",
    ),
    "checkpoint beyond the tree": (
        _checkpoint_beyond,
        "checkpoint 9999: is beyond the integrated tree (600 entries)",
    ),
    "gap in the indexes": (
        lambda e: _gap(e, 77),
        "index 77: no entry has this index",
    ),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_verify_names_the_first_bad_index_and_exits_1(
    log: Engine, cli: Cli, tampering: str
) -> None:
    """Issue 12: a tampered entry or hash in the database: ``leerid log verify`` names the
    first bad index (or tile, or checkpoint) and exits 1."""
    tamper, named = TAMPERINGS[tampering]
    tamper(log)
    code, _, err = cli("log", "verify")
    assert code == 1
    assert named in err, err
    assert "Traceback" not in err


def test_a_checkpoint_whose_note_was_rewritten_fails_its_signature(log: Engine, cli: Cli) -> None:
    with log.begin() as conn:
        note = conn.execute(
            text("SELECT note FROM idp_tlog_checkpoint WHERE size = 600")
        ).scalar_one()
        lines = note.split("\n")
        lines[1] = "601"
        conn.execute(
            text("UPDATE idp_tlog_checkpoint SET note = :n WHERE size = 600"),
            {"n": "\n".join(lines)},
        )
    code, _, err = cli("log", "verify")
    assert code == 1 and "checkpoint 600" in err and "does not verify" in err


def test_an_index_can_never_be_given_twice(log: Engine) -> None:
    """Issue 12 §6: UNIQUE(idx) refuses a double index, whatever writes it."""
    with pytest.raises(IntegrityError), log.begin() as conn:
        conn.execute(text("UPDATE idp_tlog_entry SET idx = 11 WHERE idx = 12"))


def test_witness_add_list_and_disable(engine: Engine, database_url: str, cli: Cli) -> None:
    from leerid.transparency.cosignature import Cosigner

    seed = seed_idp(database_url)
    vkey = Cosigner("lars.witness", bytes(32)).vkey
    code, out, err = cli("log", "witness", "add", "--client", seed.client_id, "--key", vkey)
    assert code == 0 and "witness lars.witness registered" in out, err
    code, _, err = cli("log", "witness", "add", "--client", seed.client_id, "--key", vkey)
    assert code == 1 and "registered already" in err
    code, _, err = cli("log", "witness", "add", "--client", "nobody", "--key", vkey)
    assert code == 1 and "no client 'nobody'" in err
    code, _, err = cli("log", "witness", "add", "--client", seed.client_id, "--key", "junk")
    assert code == 1 and "not a C2SP verifier key" in err
    code, out, _ = cli("log", "witness", "list", "--json")
    assert [(w["name"], w["client_id"]) for w in json.loads(out)] == [
        ("lars.witness", seed.client_id)
    ]
    code, out, _ = cli("log", "witness", "disable", "lars.witness")
    assert code == 0 and "disabled" in out
    code, _, err = cli("log", "witness", "disable", "nobody")
    assert code == 1 and "no witness 'nobody'" in err


def test_check_receipt_refuses_what_is_not_a_receipt_without_a_traceback(
    cli: Cli, tmp_path: Path
) -> None:
    bad = tmp_path / "bewijs.json"
    bad.write_text("{not json", encoding="utf-8")
    code, _, err = cli("log", "check-receipt", str(bad))
    assert code == 1 and "is not a receipt" in err and "Traceback" not in err
    code, _, err = cli("log", "check-receipt", str(tmp_path / "missing.json"))
    assert code == 1 and "cannot read" in err


def test_check_receipt_says_valid_or_not(log: Engine, cli: Cli, tmp_path: Path) -> None:
    """Issue 12 §5: a receipt of entry 5 checks offline (exit 0 with DOV's key pinned, 3
    without: not declared valid); a pinned witness that did not cosign, or a changed entry,
    fails (exit 1), and the line that fails says so."""
    from leerid.idp.store.tlog.checkpoints import cosigned_note
    from leerid.idp.store.tlog.proofs import inclusion_by_index
    from leerid.transparency.cosignature import Cosigner
    from leerid.transparency.receipt import b64url, make_receipt

    _, vkey, _ = cli("log", "key")
    with log.connect() as conn:
        found = inclusion_by_index(conn, 5)
        note = cosigned_note(conn)
    assert note is not None
    receipt = make_receipt(found.entry, 5, found.proof, note, vkey.strip())
    good = tmp_path / "bewijs-good.json"
    good.write_text(json.dumps(receipt), encoding="utf-8")
    code, out, err = cli("log", "check-receipt", str(good), "--key", vkey.strip())
    assert code == 0, out + err
    assert "this receipt is valid" in out and "✗" not in out
    code, out, err = cli("log", "check-receipt", str(good))  # DOV's key not compared
    assert code == 3 and "✗" not in out and "receipt is valid" not in out, out + err
    assert "not compared" in err and "--key" in err
    absent = Cosigner("lars.example/witness", b"\x22" * 32).vkey
    code, out, err = cli(
        "log", "check-receipt", str(good), "--key", vkey.strip(), "--witness", absent
    )
    assert code == 1 and "✗ Getuige lars.example/witness heeft dit logboek niet" in out
    changed = found.entry.replace(b"released", b"refused!")
    bad = tmp_path / "bewijs-bad.json"
    bad.write_text(json.dumps({**receipt, "entry": b64url(changed)}), encoding="utf-8")
    code, out, err = cli("log", "check-receipt", str(bad))
    assert code == 1 and "✗" in out and "does NOT prove" in err
